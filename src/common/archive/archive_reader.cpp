#include "common/archive/archive_reader.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>

#include <zstd.h>

#include "common/archive/archive_writer.h"
#include "common/archive/format.h"
#include "common/archive/frame_records.h"
#include "common/archive/session_index.h"
#include "common/archive/zstd_codec.h"
#include "common/base/error.h"
#include "common/net/packet_view.h"

namespace tcpr::archive {
using namespace detail;
namespace {

std::string not_archive_reason(std::span<const uint8_t> head) {
    if (head.size() >= 4) {
        const uint32_t m = load_le32(head.data());
        const uint32_t swapped = __builtin_bswap32(m);
        for (uint32_t pm : {format::kPcapMagicNs, format::kPcapMagicUs}) {
            if (m == pm || swapped == pm) {
                return "not a tcprec archive (plain pcap? use tcprec -r to import it)";
            }
        }
        if (m == format::kPcapngMagic) {
            return "not a tcprec archive (pcapng? use tcprec -r to import it)";
        }
        if (m == format::kZstdMagic || format::is_skippable_magic(m)) {
            return "not a tcprec archive (zstd data without a tcprec header)";
        }
    }
    return "not a tcprec archive";
}

}  // namespace

// --- ArchiveReader -------------------------------------------------------------------------

struct ArchiveReader::Impl {
    const ByteSource& src;
    std::string name;
    ArchiveInfo info;
    uint64_t header_end = 0;  // end of the archive header block

    // Decompression contexts and buffers, reused across read_frame() calls from any thread.
    struct Scratch {
        ZstdDecompressor dec;
        std::vector<uint8_t> in;
    };
    mutable std::mutex mu;
    mutable std::vector<std::unique_ptr<Scratch>> pool;

    Impl(const ByteSource& s, std::string n) : src(s), name(std::move(n)) {}

    [[noreturn]] void fail(ErrorKind kind, const std::string& why) const {
        throw Error(kind, "cannot open archive '" + name + "': " + why);
    }

    std::unique_ptr<Scratch> take() const {
        {
            std::lock_guard lock(mu);
            if (!pool.empty()) {
                auto s = std::move(pool.back());
                pool.pop_back();
                return s;
            }
        }
        return std::make_unique<Scratch>();
    }
    void give(std::unique_ptr<Scratch> s) const {
        std::lock_guard lock(mu);
        pool.push_back(std::move(s));
    }

    void open();
    // Reads and decompresses data frame i; `has_checksum` tells whether the frame carries one.
    bool load_frame(size_t i, std::vector<uint8_t>& out, std::string* why,
                    bool* has_checksum) const;
};

void ArchiveReader::Impl::open() {
    const uint64_t size = src.size();
    if (size == 0) {
        fail(ErrorKind::Corrupt, "empty file");
    }
    std::vector<uint8_t> head(std::min<uint64_t>(size, 64));
    head.resize(read_some(src, 0, head));
    if (!starts_like_archive_header(head)) {
        fail(ErrorKind::Corrupt, not_archive_reason(head));
    }
    std::vector<uint8_t> tail(std::min<uint64_t>(size, format::kTrailerSize));
    const uint64_t tail_at = size - tail.size();
    tail.resize(read_some(src, tail_at, tail));
    Trailer t;
    try {
        t = peek_trailer(tail);
        if (t.size > size) {
            throw Error(ErrorKind::Corrupt, "trailer checksum mismatch");
        }
        if (t.size > tail.size()) {  // a later minor version with a longer trailer
            tail.resize(t.size);
            tail.resize(read_some(src, size - t.size, tail));
        }
        check_trailer(tail, t);
    } catch (const Error& e) {
        fail(e.kind(), e.what());
    }
    const uint64_t trailer_at = size - t.size;
    if (t.index_offset > trailer_at || t.index_size != trailer_at - t.index_offset ||
        t.index_offset < format::kBlockHeaderSize) {
        fail(ErrorKind::Corrupt,
             "damaged trailer (index at offset " + std::to_string(t.index_offset) + ", " +
                 std::to_string(t.index_size) + " bytes, does not end at the trailer at offset " +
                 std::to_string(trailer_at) + ")");
    }
    std::vector<uint8_t> region(t.index_size);
    if (read_some(src, t.index_offset, region) != region.size()) {
        fail(ErrorKind::Io, "short read of the index");
    }
    try {
        ZstdDecompressor dec;
        decode_index(region, info, dec);
    } catch (const Error& e) {
        fail(e.kind(), e.what());
    }
    info.file_bytes = size;
    if (info.data_bytes != t.index_offset) {
        fail(ErrorKind::Corrupt, "damaged index (it says the data ends at offset " +
                                     std::to_string(info.data_bytes) +
                                     ", the trailer says the index starts at offset " +
                                     std::to_string(t.index_offset) + ")");
    }
    for (size_t i = 0; i < info.frames.size(); ++i) {
        const FrameEntry& f = info.frames[i];
        if (f.offset < format::kBlockHeaderSize || f.offset + f.compressed > t.index_offset ||
            f.decompressed > format::kMaxFrameContent) {
            fail(ErrorKind::Corrupt,
                 "damaged index (" + at("frame", i, f.offset) + " lies outside the data area)");
        }
    }
    if (info.snaplen == 0 || info.snaplen > format::kMaxSnaplen) {
        fail(ErrorKind::Corrupt, "damaged index (snaplen " + std::to_string(info.snaplen) + ")");
    }
}

bool ArchiveReader::Impl::load_frame(size_t i, std::vector<uint8_t>& out, std::string* why,
                                     bool* has_checksum) const {
    if (i >= info.frames.size()) {
        if (why != nullptr) {
            *why = "frame " + std::to_string(i) + ": no such frame (the archive has " +
                   std::to_string(info.frames.size()) + ")";
        }
        return false;
    }
    const FrameEntry& f = info.frames[i];
    const auto bad = [&](const std::string& reason) {
        if (why != nullptr) {
            *why = at("frame", i, f.offset) + ": " + reason;
        }
        return false;
    };
    std::unique_ptr<Scratch> s = take();
    struct GiveBack {
        const Impl& impl;
        std::unique_ptr<Scratch>& s;
        ~GiveBack() { impl.give(std::move(s)); }
    } give_back{*this, s};

    s->in.resize(f.compressed);
    if (read_some(src, f.offset, s->in) != f.compressed) {
        return bad("truncated (the file ends inside the frame)");
    }
    if (f.compressed < 4 || load_le32(s->in.data()) != format::kZstdMagic) {
        return bad("not a zstd frame");
    }
    const FrameExtent ext = find_zstd_frame_extent(s->in);
    if (ext.status != FrameExtent::Status::Ok) {
        return bad(ext.status == FrameExtent::Status::NeedMore
                       ? "frame is longer than the index says"
                       : ext.why);
    }
    if (ext.size != f.compressed) {
        return bad("frame is " + std::to_string(ext.size) + " bytes, the index says " +
                   std::to_string(f.compressed));
    }
    if (zstd_content_size(s->in) != std::optional<uint64_t>(f.decompressed)) {
        return bad("frame content size does not match the index");
    }
    if (has_checksum != nullptr) {
        *has_checksum = zstd_has_checksum(s->in);
    }
    out.resize(f.decompressed);
    try {
        s->dec.decompress_exact(s->in, out);
    } catch (const Error& e) {
        return bad(e.what());
    }
    return true;
}

ArchiveReader::ArchiveReader(const ByteSource& source, std::string name)
    : impl_(std::make_unique<Impl>(source, std::move(name))) {
    impl_->open();
}

ArchiveReader::~ArchiveReader() = default;
ArchiveReader::ArchiveReader(ArchiveReader&&) noexcept = default;

const ArchiveInfo& ArchiveReader::info() const { return impl_->info; }

bool ArchiveReader::load_frame(size_t i, std::vector<uint8_t>& out, std::string* why,
                               bool* has_checksum) const {
    return impl_->load_frame(i, out, why, has_checksum);
}

void ArchiveReader::release_sessions() {
    std::vector<session::SessionSummary>().swap(impl_->info.sessions);
}

void ArchiveReader::release_buffers() const {
    std::lock_guard lock(impl_->mu);
    impl_->pool.clear();
}

bool ArchiveReader::read_frame(size_t i, std::vector<uint8_t>& out, std::string* why) const {
    return impl_->load_frame(i, out, why, nullptr);
}

DamageReport ArchiveReader::for_each_record(const std::function<bool(const Record&)>& fn) const {
    RecordCursor cursor(*this);
    Record r;
    while (cursor.next(r) && fn(r)) {
    }
    return cursor.damage();
}

bool RecordCursor::load_next_frame() {
    const ArchiveInfo& info = reader_->info();
    while (next_frame_ < info.frames.size()) {
        const size_t i = next_frame_++;
        const FrameEntry& f = info.frames[i];
        if (!reader_->read_frame(i, buf_, &why_)) {
            ++damage_.frames_damaged;
            damage_.bytes_lost += f.compressed;
            damage_.problems.push_back(why_);
            continue;
        }
        FrameRecords fr;
        if (!validate_records(buf_, info.snaplen, fr, why_)) {
            ++damage_.frames_damaged;
            damage_.bytes_lost += f.compressed;
            damage_.problems.push_back(at("frame", i, f.offset) + ": " + why_);
            continue;
        }
        ++damage_.frames_ok;
        damage_.records += fr.count;
        frame_ = static_cast<uint32_t>(i);
        pos_ = 0;
        return true;
    }
    std::vector<uint8_t>().swap(buf_);  // at the end: its memory too
    reader_->release_buffers();
    pos_ = 0;
    return false;
}

std::optional<uint64_t> RecordCursor::next_frame_first_ns() const {
    const ArchiveInfo& info = reader_->info();
    if (pos_ < buf_.size() || next_frame_ >= info.frames.size()) {
        return std::nullopt;
    }
    return info.frames[next_frame_].first_ns;
}

bool RecordCursor::next(Record& out) {
    while (pos_ >= buf_.size()) {
        if (!load_next_frame()) {
            return false;
        }
    }
    const RecordHeader h = load_record_header(buf_.data() + pos_);
    pos_ += format::kPcapRecordHeaderSize;
    out.ts_ns = h.sec * kNsPerSec + h.nsec;
    out.orig_len = h.orig_len;
    out.bytes = std::span<const uint8_t>(buf_).subspan(pos_, h.caplen);
    out.frame = frame_;
    pos_ += h.caplen;
    return true;
}

bool looks_like_archive(std::span<const uint8_t> head) {
    return head.size() >= kSniffSize && starts_like_archive_header(head);
}

}  // namespace tcpr::archive
