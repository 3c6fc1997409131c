#include "common/archive/archive_writer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "common/archive/archive_info.h"
#include "common/archive/format.h"
#include "common/archive/session_index.h"
#include "common/archive/zstd_codec.h"
#include "common/base/byte_cursor.h"
#include "common/base/error.h"
#include "common/net/link_type.h"
#include "common/net/packet_view.h"

namespace tcpr::archive {
namespace {

constexpr size_t kQueueDepth = 4;  // frames waiting for the background worker
constexpr uint64_t kNsPerSec = 1'000'000'000;

void put_le32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
    p[2] = static_cast<uint8_t>(v >> 16);
    p[3] = static_cast<uint8_t>(v >> 24);
}

std::vector<uint8_t> pcap_file_header(uint32_t link_type, uint32_t snaplen) {
    std::vector<uint8_t> h;
    ByteWriter w(h);
    w.u32le(format::kPcapMagicNs);
    w.u16le(format::kPcapVersionMajor);
    w.u16le(format::kPcapVersionMinor);
    w.u32le(0);  // thiszone
    w.u32le(0);  // sigfigs
    w.u32le(snaplen);
    w.u32le(link_type);
    return h;
}

// Where a frame the worker wrote landed in the file.
struct Placement {
    uint64_t offset;
    uint32_t compressed;
};

// Compresses and writes frames on one thread, in submission order. The caller blocks only when
// kQueueDepth frames are already waiting. A failure (a sink error such as a full disk) is kept
// and rethrown to the caller by the next submit()/finish().
class Worker {
  public:
    Worker(ByteSink& sink, int level, std::atomic<uint64_t>& written)
        : sink_(sink), compressor_(level), written_(written), thread_([this] { run(); }) {}

    ~Worker() {
        // Frames already queued are still written (they are complete); errors are dropped.
        stop();
    }

    bool failed() const { return failed_.load(std::memory_order_relaxed); }

    void rethrow_if_failed() {
        std::lock_guard lock(mu_);
        if (error_) {
            std::rethrow_exception(error_);
        }
    }

    // Queues `frame` and hands back an empty recycled buffer in its place.
    void submit(std::vector<uint8_t>& frame) {
        {
            std::unique_lock lock(mu_);
            space_cv_.wait(lock, [&] { return error_ || queue_.size() < kQueueDepth; });
            if (error_) {
                std::rethrow_exception(error_);
            }
            queue_.push_back(std::move(frame));
            if (!free_.empty()) {
                frame = std::move(free_.back());
                free_.pop_back();
            } else {
                frame = std::vector<uint8_t>();
            }
        }
        work_cv_.notify_one();
    }

    // Writes everything queued, stops the thread, and returns where each frame landed.
    std::vector<Placement> finish() {
        stop();
        if (error_) {
            std::rethrow_exception(error_);
        }
        return std::move(placed_);
    }

  private:
    void stop() {
        {
            std::lock_guard lock(mu_);
            stop_ = true;
        }
        work_cv_.notify_all();
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    void run() {
        for (;;) {
            std::vector<uint8_t> job;
            {
                std::unique_lock lock(mu_);
                work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
                if (queue_.empty()) {
                    return;
                }
                job = std::move(queue_.front());
                queue_.pop_front();
            }
            space_cv_.notify_one();
            try {
                compressor_.compress(job, out_);
                const uint64_t offset = written_.load(std::memory_order_relaxed);
                sink_.write(out_);
                written_.store(offset + out_.size(), std::memory_order_relaxed);
                job.clear();
                std::lock_guard lock(mu_);
                placed_.push_back({offset, static_cast<uint32_t>(out_.size())});
                free_.push_back(std::move(job));
            } catch (...) {
                std::lock_guard lock(mu_);
                error_ = std::current_exception();
                failed_.store(true, std::memory_order_relaxed);
                queue_.clear();
                space_cv_.notify_all();
                return;
            }
        }
    }

    ByteSink& sink_;
    ZstdCompressor compressor_;
    std::vector<uint8_t> out_;
    std::atomic<uint64_t>& written_;

    std::mutex mu_;
    std::condition_variable work_cv_, space_cv_;
    std::deque<std::vector<uint8_t>> queue_;
    std::vector<std::vector<uint8_t>> free_;
    std::vector<Placement> placed_;
    bool stop_ = false;
    std::exception_ptr error_;
    std::atomic<bool> failed_{false};

    std::thread thread_;  // last: starts once every other member exists
};

}  // namespace

struct ArchiveWriter::Impl {
    Impl(ByteSink& s, WriterOptions o)
        : sink(s),
          opt(std::move(o)),
          link(net::link_type_from_value(opt.link_type)),
          tracker(opt.server_port),
          compressor(opt.level) {}

    ByteSink& sink;
    WriterOptions opt;
    std::optional<net::LinkType> link;
    uint64_t span_ns = 0;  // 0: no time limit
    session::SessionTracker tracker;
    ZstdCompressor compressor;        // header, index, and data frames when not in background
    std::vector<uint8_t> compressed;  // reused output buffer

    std::vector<uint8_t> frame;  // pcap records of the frame being filled
    FrameEntry cur;              // its counters
    uint64_t cur_start_ns = 0;   // timestamp of its first record
    size_t frame_reserve = 0;
    std::vector<FrameEntry> frames;  // closed data frames

    WriterStats st;
    std::atomic<uint64_t> written{0};
    uint64_t first_ns = 0, last_ns = 0;
    bool finished = false;
    std::exception_ptr failure;  // a sink/compression error: the writer is unusable
    std::unique_ptr<Worker> worker;

    void write(std::span<const uint8_t> bytes) {
        sink.write(bytes);
        written.fetch_add(bytes.size(), std::memory_order_relaxed);
    }

    void check_usable() {
        if (failure) {
            std::rethrow_exception(failure);
        }
        if (worker && worker->failed()) {
            try {
                worker->rethrow_if_failed();
            } catch (...) {
                failure = std::current_exception();
                throw;
            }
        }
        if (finished) {
            throw Error(ErrorKind::Internal, "archive writer used after finish()");
        }
    }

    void close_frame() {
        if (frame.empty()) {
            return;
        }
        cur.decompressed = static_cast<uint32_t>(frame.size());
        try {
            if (worker) {
                worker->submit(frame);
            } else {
                compressor.compress(frame, compressed);
                cur.offset = written.load(std::memory_order_relaxed);
                cur.compressed = static_cast<uint32_t>(compressed.size());
                write(compressed);
                frame.clear();
            }
        } catch (...) {
            failure = std::current_exception();
            throw;
        }
        if (frame.capacity() < frame_reserve) {
            frame.reserve(frame_reserve);
        }
        frames.push_back(cur);
        ++st.frames;
    }

    void add(uint64_t ts_ns, uint32_t orig_len, std::span<const uint8_t> bytes) {
        check_usable();
        if (ts_ns / kNsPerSec > std::numeric_limits<uint32_t>::max()) {
            throw Error(ErrorKind::Unsupported,
                        "packet timestamp " + std::to_string(ts_ns / kNsPerSec) +
                            " s is beyond what a pcap file can hold (year 2106)");
        }
        if (bytes.size() > opt.snaplen) {
            bytes = bytes.first(opt.snaplen);
            ++st.cut_to_snaplen;
        }
        const auto caplen = static_cast<uint32_t>(bytes.size());
        orig_len = std::max(orig_len, caplen);
        const size_t rec_size = format::kPcapRecordHeaderSize + caplen;
        if (!frame.empty()) {
            const bool full = frame.size() + rec_size > opt.frame_bytes;
            const bool old =
                span_ns != 0 && ts_ns >= cur_start_ns && ts_ns - cur_start_ns >= span_ns;
            if (full || old) {
                close_frame();
            }
        }
        if (frame.empty()) {
            cur = FrameEntry{};
            cur.first_ns = cur.last_ns = ts_ns;
            cur_start_ns = ts_ns;
        }
        uint8_t hdr[format::kPcapRecordHeaderSize];
        put_le32(hdr, static_cast<uint32_t>(ts_ns / kNsPerSec));
        put_le32(hdr + 4, static_cast<uint32_t>(ts_ns % kNsPerSec));
        put_le32(hdr + 8, caplen);
        put_le32(hdr + 12, orig_len);
        frame.insert(frame.end(), hdr, hdr + sizeof hdr);
        frame.insert(frame.end(), bytes.begin(), bytes.end());
        ++cur.packets;
        cur.first_ns = std::min(cur.first_ns, ts_ns);
        cur.last_ns = std::max(cur.last_ns, ts_ns);

        if (st.packets == 0) {
            first_ns = last_ns = ts_ns;
        } else {
            first_ns = std::min(first_ns, ts_ns);
            last_ns = std::max(last_ns, ts_ns);
        }
        ++st.packets;
        st.pcap_bytes += rec_size;

        const auto frame_no = static_cast<uint32_t>(frames.size());
        const net::DecodeResult r =
            link ? net::decode(*link, bytes) : net::DecodeResult(net::SkipReason::UnsupportedLink);
        if (r.ok()) {
            tracker.observe(r.packet(), ts_ns, frame_no);
            ++st.indexed;
        } else {
            st.not_indexed.count(r.reason());
        }
    }

    void finish(CaptureTotals extra) {
        check_usable();
        close_frame();
        try {
            if (worker) {
                const std::vector<Placement> placed = worker->finish();
                worker.reset();
                if (placed.size() != frames.size()) {
                    throw Error(ErrorKind::Internal, "archive writer: frame count mismatch");
                }
                for (size_t i = 0; i < frames.size(); ++i) {
                    frames[i].offset = placed[i].offset;
                    frames[i].compressed = placed[i].compressed;
                }
            }
            ArchiveInfo info;
            info.format_version = format::kVersionMajor;
            info.format_minor = format::kVersionMinor;
            info.link_type = opt.link_type;
            info.snaplen = opt.snaplen;
            info.server_port = opt.server_port.value_or(0);
            info.source = opt.source;
            info.writer = "tcprec " TCPR_VERSION;
            info.packets = st.packets;
            info.indexed = st.indexed;
            info.pcap_bytes = st.pcap_bytes;
            info.data_bytes = written.load(std::memory_order_relaxed);
            info.first_ns = first_ns;
            info.last_ns = last_ns;
            info.kernel_drops = extra.kernel_drops;
            info.interface_drops = extra.interface_drops;
            info.not_indexed = st.not_indexed;
            info.frames = std::move(frames);
            std::vector<uint8_t> tail = encode_index(info, tracker.sessions(), compressor);
            frames = std::move(info.frames);
            Trailer t;
            t.index_offset = info.data_bytes;
            t.index_size = tail.size();
            append_trailer(tail, t);
            write(tail);
        } catch (...) {
            failure = std::current_exception();
            throw;
        }
        finished = true;
    }
};

ArchiveWriter::ArchiveWriter(ByteSink& sink, WriterOptions options) {
    if (options.snaplen == 0 || options.snaplen > format::kMaxSnaplen) {
        throw Error(ErrorKind::Usage, "snaplen " + std::to_string(options.snaplen) +
                                          " is outside 1.." + std::to_string(format::kMaxSnaplen));
    }
    if (options.frame_bytes == 0 || options.frame_bytes > format::kMaxFrameBytes) {
        throw Error(ErrorKind::Usage, "frame size " + std::to_string(options.frame_bytes) +
                                          " is outside 1.." +
                                          std::to_string(format::kMaxFrameBytes));
    }
    impl_ = std::make_unique<Impl>(sink, std::move(options));
    Impl& m = *impl_;
    m.span_ns = m.opt.frame_span.count() > 0 ? static_cast<uint64_t>(m.opt.frame_span.count()) : 0;
    m.frame_reserve = std::min<size_t>(m.opt.frame_bytes, 4u << 20) + 65536;
    m.frame.reserve(m.frame_reserve);

    std::vector<uint8_t> head =
        encode_archive_header({m.opt.link_type, m.opt.snaplen, "tcprec " TCPR_VERSION});
    m.compressor.compress(pcap_file_header(m.opt.link_type, m.opt.snaplen), m.compressed);
    head.insert(head.end(), m.compressed.begin(), m.compressed.end());
    m.write(head);
    m.st.pcap_bytes = format::kPcapFileHeaderSize;
    if (m.opt.background) {
        m.worker = std::make_unique<Worker>(sink, m.opt.level, m.written);
    }
}

ArchiveWriter::~ArchiveWriter() = default;

void ArchiveWriter::add(uint64_t ts_ns, uint32_t orig_len, std::span<const uint8_t> bytes) {
    impl_->add(ts_ns, orig_len, bytes);
}

void ArchiveWriter::flush() {
    impl_->check_usable();
    impl_->close_frame();
}

void ArchiveWriter::finish(CaptureTotals extra) { impl_->finish(extra); }

WriterStats ArchiveWriter::stats() const {
    WriterStats s = impl_->st;
    s.file_bytes = impl_->written.load(std::memory_order_relaxed);
    s.sessions = impl_->tracker.size();
    return s;
}

}  // namespace tcpr::archive
