// Live capture -> archive, with rotation by size or time, a status line and a final summary.
#include <ctime>
#include <optional>

#include "common/archive/archive_writer.h"
#include "common/base/error.h"
#include "common/base/log.h"
#include "common/base/parse.h"
#include "common/base/stats.h"
#include "common/cli/run_main.h"
#include "common/net/skip_reason.h"
#include "common/os/files.h"
#include "common/os/pcap_source.h"
#include "common/os/privileges.h"
#include "common/os/status_line.h"
#include "common/os/stop_signal.h"
#include "recorder/commands.h"
#include "recorder/naming.h"

namespace tcpr::rec {
namespace {

using Clock = std::chrono::steady_clock;

// One output file being written: the atomic file and the archive writer on top of it.
struct OpenArchive {
    os::AtomicFile file;
    std::unique_ptr<archive::ArchiveWriter> writer;
    os::CaptureCounters counters_at_open;
    Clock::time_point opened;
};

struct Totals {
    uint64_t packets = 0, pcap_bytes = 0, file_bytes = 0, sessions = 0, indexed = 0;
    net::SkipCounts not_indexed;
    std::vector<std::string> files;
};

std::string ratio_text(uint64_t pcap, uint64_t file) {
    if (file == 0) {
        return "-";
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(pcap) / static_cast<double>(file));
    return buf;
}

// The archives of one recording: the one being written, rotated into the next when asked, and
// the totals of those finished.
class Output {
  public:
    Output(const RecordOptions& o, archive::WriterOptions wo, os::PacketSource& source)
        : namer_(o.output, o.rotate_every.count() > 0), wo_(std::move(wo)), source_(source) {}

    void open(Clock::time_point now) {
        os::AtomicFile file = os::AtomicFile::create_recording(namer_.next(std::time(nullptr)));
        current_.emplace(OpenArchive{std::move(file), nullptr, source_.counters(), now});
        current_->writer = std::make_unique<archive::ArchiveWriter>(current_->file, wo_);
    }

    // Finishes and publishes the current archive.
    void close() {
        const os::CaptureCounters c = source_.counters();
        archive::ArchiveWriter::CaptureTotals extra;
        extra.kernel_drops = c.kernel_drops - current_->counters_at_open.kernel_drops;
        extra.interface_drops = c.interface_drops - current_->counters_at_open.interface_drops;
        current_->writer->finish(extra);
        const archive::WriterStats s = current_->writer->stats();
        current_->file.commit();
        totals_.packets += s.packets;
        totals_.pcap_bytes += s.pcap_bytes;
        totals_.file_bytes += s.file_bytes;
        totals_.sessions += s.sessions;
        totals_.indexed += s.indexed;
        totals_.not_indexed += s.not_indexed;
        totals_.files.push_back(current_->file.path());
        current_.reset();
    }

    bool is_open() const { return current_.has_value(); }
    archive::ArchiveWriter& writer() { return *current_->writer; }
    const std::string& path() const { return current_->file.path(); }
    std::string partial_path() const { return current_->file.partial_path(); }
    Clock::time_point opened() const { return current_->opened; }
    const Totals& totals() const { return totals_; }

  private:
    OutputNamer namer_;
    archive::WriterOptions wo_;
    os::PacketSource& source_;
    std::optional<OpenArchive> current_;
    Totals totals_;
};

// The status line: what the recording holds so far, finished archives and the current one.
std::string status_text(const Totals& t, const archive::WriterStats& ws,
                        const os::CaptureCounters& c, Clock::duration elapsed) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "%llu pkts, %llu sessions, %s pcap -> %s (x%s), drops %llu, %s",
                  static_cast<unsigned long long>(t.packets + ws.packets),
                  static_cast<unsigned long long>(t.sessions + ws.sessions),
                  human_bytes(t.pcap_bytes + ws.pcap_bytes).c_str(),
                  human_bytes(t.file_bytes + ws.file_bytes).c_str(),
                  ratio_text(ws.pcap_bytes, ws.file_bytes).c_str(),
                  static_cast<unsigned long long>(c.kernel_drops + c.interface_drops),
                  format_duration(elapsed).c_str());
    return line;
}

// Captures into `out` until the count, the duration, the end of the capture or a stop signal;
// rotates by size and time; flushes at least every second.
void capture(const RecordOptions& o, os::PacketSource& source, Output& out) {
    const Clock::time_point start = Clock::now();
    os::StatusLine status(!o.quiet);
    Clock::time_point last_flush = start;
    uint64_t seen = 0;
    os::CapturedPacket pkt;
    while (true) {
        const auto st = source.next(pkt);
        if (st == os::PacketSource::Status::End) {
            break;
        }
        if (st == os::PacketSource::Status::Packet) {
            out.writer().add(pkt.ts_ns, pkt.orig_len, pkt.bytes);
            ++seen;
            if (o.count != 0 && seen >= o.count) {
                break;
            }
            // Checking the clock costs ~20 ns; every 64 packets is plenty at any rate.
            if ((seen & 63) != 0) {
                continue;
            }
        }
        const Clock::time_point now = Clock::now();
        if (o.duration.count() > 0 && now - start >= o.duration) {
            break;
        }
        if (now - last_flush >= std::chrono::seconds(1)) {
            // A quiet capture still reaches the disk every second (SIGKILL loses <= 1 s).
            out.writer().flush();
            last_flush = now;
        }
        const archive::WriterStats ws = out.writer().stats();
        const bool rotate_size = o.rotate_bytes != 0 && ws.file_bytes >= o.rotate_bytes;
        const bool rotate_time = o.rotate_every.count() > 0 && now - out.opened() >= o.rotate_every;
        if (rotate_size || rotate_time) {
            out.close();
            out.open(now);
        }
        if (status.due(now)) {
            status.show(status_text(out.totals(), ws, source.counters(), now - start), now);
        }
    }
    status.clear();
}

void log_result(const Totals& totals, const os::CaptureCounters& c, double secs) {
    log::info("recorded %llu packets in %llu sessions in %.1f s: %s pcap -> %s archive (ratio %s)",
              static_cast<unsigned long long>(totals.packets),
              static_cast<unsigned long long>(totals.sessions), secs,
              human_bytes(totals.pcap_bytes).c_str(), human_bytes(totals.file_bytes).c_str(),
              ratio_text(totals.pcap_bytes, totals.file_bytes).c_str());
    for (const auto& f : totals.files) {
        log::info("wrote %s", f.c_str());
    }
    if (totals.not_indexed.total() > 0) {
        log::info("not indexed (stored in the pcap, not part of a TCP session): %llu packets: %s",
                  static_cast<unsigned long long>(totals.not_indexed.total()),
                  totals.not_indexed.breakdown().c_str());
    }
    if (c.kernel_drops + c.interface_drops > 0) {
        log::warn(
            "the kernel dropped %llu packets (%llu by the interface): the capture is "
            "incomplete; try a larger -B or a narrower filter",
            static_cast<unsigned long long>(c.kernel_drops),
            static_cast<unsigned long long>(c.interface_drops));
    } else {
        log::info("kernel drops: 0");
    }
}

}  // namespace

int run_record(const RecordOptions& o) {
    os::LiveCaptureOptions lo;
    lo.interface = o.interface;
    lo.snaplen_bytes = o.snaplen;
    lo.promiscuous = o.promiscuous;
    lo.buffer_bytes = o.buffer_bytes;
    lo.filter = build_filter(o.ports, o.filter);
    auto source = os::open_live(lo);
    require_supported_link(source->link_type(), "cannot record on '" + o.interface + "'");
    // The capture is open: the archives are written as -Z's user, who must be able to.
    if (os::drop_privileges(o.user, o.user_given)) {
        const std::string first =
            OutputNamer(o.output, o.rotate_every.count() > 0).next(std::time(nullptr));
        try {
            os::check_output_path(first, "-o");
        } catch (const Error& e) {
            throw Error(e.kind(), e.what() + os::as_user_hint(o.user));
        }
    }

    archive::WriterOptions wo;
    wo.link_type = source->link_type();
    wo.snaplen = source->snaplen();
    wo.level = o.level;
    wo.background = true;
    wo.source = source->describe();
    if (o.ports.size() == 1) {
        wo.server_port = o.ports.front();
    }

    Output out(o, std::move(wo), *source);
    const Clock::time_point start = Clock::now();
    try {
        out.open(start);
        log::info("recording %s to %s", source->describe().c_str(), out.path().c_str());
        capture(o, *source, out);
        out.close();
    } catch (const Error& e) {
        if (out.is_open()) {
            throw Error(e.kind(), std::string(e.what()) + " (frames written so far are in '" +
                                      out.partial_path() + "': tcprec --repair recovers them)");
        }
        throw;
    }
    log_result(out.totals(), source->counters(),
               std::chrono::duration<double>(Clock::now() - start).count());
    return kExitOk;
}

}  // namespace tcpr::rec
