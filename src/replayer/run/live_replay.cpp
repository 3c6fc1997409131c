#include "replayer/run/live_replay.h"

#include <chrono>
#include <cstdio>
#include <deque>
#include <limits>
#include <optional>
#include <unistd.h>

#include "common/archive/archive_writer.h"
#include "common/base/error.h"
#include "common/base/log.h"
#include "common/base/parse.h"
#include "common/base/stats.h"
#include "common/cli/run_main.h"
#include "common/net/link_type.h"
#include "common/os/clock.h"
#include "common/os/daemon.h"
#include "common/os/epoll.h"
#include "common/os/files.h"
#include "common/os/pcap_injector.h"
#include "common/os/pcap_source.h"
#include "common/os/raw_socket.h"
#include "common/os/status_line.h"
#include "common/os/stop_signal.h"
#include "replayer/run/replay.h"
#include "replayer/run/transport_setup.h"
#include "replayer/transport/intercept_client.h"
#include "replayer/transport/raw_transport.h"
#include "replayer/transport/socket_transport.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kCaptureTag = 2;
constexpr uint64_t kWakeNs = 250'000'000;       // at least this often: progress, signals
constexpr uint64_t kStartRetryNs = 10'000'000;  // no free endpoint: try again in 10 ms
constexpr uint64_t kSweepNs = 1'000'000'000;    // idle expiry and release of ended sessions
constexpr uint64_t kFlushNs = 1'000'000'000;    // --record reaches the disk at least this often
constexpr int kBatch = 1024;                    // packets read per loop iteration at most

std::string num(uint64_t v) { return std::to_string(v); }

// The status line: on a terminal redrawn every second; otherwise one line per
// --stats-interval, so a long-running copy leaves a readable log.
std::string live_line(const LiveStats& l, const LiveSessions& live, const ReplayCounters& c,
                      size_t active, uint64_t drops, uint64_t elapsed_ns,
                      const std::string& recorded, const std::string& health) {
    std::string s = "live " + format_duration(std::chrono::nanoseconds(elapsed_ns)) +
                    " | connections " + count_text(l.connections) + ", " +
                    count_text(live.open_sessions()) + " open | copies " +
                    count_text(c.sessions_started) + " started, " + count_text(active) +
                    " active, " + count_text(c.sessions_done()) + " done";
    if (c.sessions_failed() > 0) {
        s += " (" + count_text(c.sessions_reset) + " reset, " + count_text(c.sessions_timed_out) +
             " timed out)";
    }
    s += " | requests " + count_text(c.requests_sent) + ", responses " +
         count_text(c.responses_seen);
    if (l.dropped_cap + l.dropped_buffer > 0) {
        s += " | dropped " + count_text(l.dropped_cap + l.dropped_buffer);
    }
    s += " | capture drops " + count_text(drops);
    if (!recorded.empty()) {
        s += " | recorded " + recorded;
    }
    if (!health.empty()) {
        s += " | " + health;
    }
    return s;
}

struct PendingStart {
    uint32_t session = 0;
    uint32_t copy = 0;
    uint64_t give_up_at = 0;
};

// --record: the archive being written while copying (tcprec's way: AtomicFile + writer).
struct Recorder {
    std::optional<os::AtomicFile> file;
    std::unique_ptr<archive::ArchiveWriter> writer;
    std::string error;  // set when writing failed: recording stopped, copying goes on
    uint64_t last_flush = 0;
};

}  // namespace

std::string live_filter(uint16_t online_port, const net::Endpoint& target) {
    return "tcp port " + std::to_string(online_port) + " and not (host " + target.addr.to_string() +
           " and tcp port " + std::to_string(target.port) + ")";
}

std::string format_live_summary(const LiveStats& l, uint64_t kernel_drops,
                                const std::string& recorded) {
    std::string o;
    o += "  live: " + num(l.connections) + " new connections, " + num(l.sessions) +
         " copied; not copied: " + num(l.not_selected) + " by --sample/--sessions, " +
         num(l.dropped_cap) + " over --max-active, " + num(l.dropped_buffer) +
         " while the buffer was full";
    if (l.other_family + l.dropped_tracking > 0) {
        o += ", " + num(l.other_family) + " of the other IP version, " + num(l.dropped_tracking) +
             " untracked (table full)";
    }
    o += "\n";
    o += "  already open at start: " + num(l.mid_session) +
         " copied with a built SYN from their first request boundary (" +
         human_bytes(l.mid_session_skipped_bytes) + " before it skipped), " +
         num(l.mid_session_never) + " ended before any boundary, " + num(l.mid_session_waiting) +
         " still waiting\n";
    o += "  ended: " + num(l.expired) + " idle (expired), " + num(l.ended_at_stop) +
         " still open at stop, " + num(l.cut) + " cut at the buffer limit; peak " +
         num(l.peak_sessions) + " sessions and " + human_bytes(l.peak_buffer) + " buffered";
    if (l.implausible > 0) {
        o += "; " + num(l.implausible) +
             " ended by a new connection on their tuple whose SYN the capture lost";
    }
    if (l.copies_not_started > 0) {
        o += "; " + num(l.copies_not_started) + " copies not started (no free client endpoint)";
    }
    o += "\n";
    o += "  capture: " + num(l.frames) + " packets, kernel drops " + num(kernel_drops);
    if (l.missing_bytes > 0) {
        o += ", " + num(l.missing_bytes) + " client bytes lost by the capture (sent as zeros)";
    }
    o += "\n";
    if (!recorded.empty()) {
        o += "  recorded: " + recorded + "\n";
    }
    return o;
}

std::string format_live_json(const RunSummary& s, const LiveStats& l, uint64_t kernel_drops,
                             const std::string& recorded) {
    std::string json = format_json(s);
    const auto end = json.rfind("\n}");
    if (end == std::string::npos) {
        return json;
    }
    std::string rec;
    for (char ch : recorded) {
        if (ch == '"' || ch == '\\') {
            rec += '\\';
        }
        rec += ch;
    }
    std::string live =
        ",\n  \"live\": {\"connections\": " + num(l.connections) +
        ", \"copied\": " + num(l.sessions) + ", \"mid_session\": " + num(l.mid_session) +
        ", \"mid_session_never\": " + num(l.mid_session_never) +
        ", \"mid_session_skipped_bytes\": " + num(l.mid_session_skipped_bytes) +
        ", \"not_selected\": " + num(l.not_selected) + ", \"dropped_cap\": " + num(l.dropped_cap) +
        ", \"dropped_buffer\": " + num(l.dropped_buffer) + ", \"expired\": " + num(l.expired) +
        ", \"ended_at_stop\": " + num(l.ended_at_stop) + ", \"cut\": " + num(l.cut) +
        ", \"implausible\": " + num(l.implausible) +
        ", \"copies_not_started\": " + num(l.copies_not_started) +
        ", \"packets\": " + num(l.frames) + ", \"kernel_drops\": " + num(kernel_drops) +
        ", \"peak_sessions\": " + num(l.peak_sessions) +
        ", \"peak_buffer_bytes\": " + num(l.peak_buffer) + ", \"recorded\": \"" + rec + "\"}";
    return json.substr(0, end) + live + json.substr(end);
}

int run_live(const ReplayOptions& o) {
    if (o.verbosity >= 2) {
        log::set_level(log::Level::Debug);
    } else if (o.quiet) {
        log::set_level(log::Level::Warn);
    }
    const uint16_t port = *o.builder.selection.server_port;
    const LiveOptions& lv = o.live;

    // The capture first (the clearest error without root), then the sender and intercept:
    // every start-up error is reported here, in the foreground, before -d detaches.
    os::LiveCaptureOptions lo;
    lo.interface = o.interface;
    lo.promiscuous = lv.promiscuous;
    lo.filter = live_filter(port, o.target);
    // Packets are handed over in blocks (TPACKET_V3: a ring packed with whole packets, far
    // more of them than immediate mode's snaplen-sized slots) at least every 2 ms: a request
    // is copied at most 2 ms after it arrived.
    lo.read_timeout = std::chrono::milliseconds(2);
    std::unique_ptr<os::PacketSource> source = os::open_live(lo);
    const uint32_t link = source->link_type();
    if (!net::link_type_from_value(link)) {
        throw Error(ErrorKind::Unsupported, "cannot copy from '" + o.interface + "': link type " +
                                                net::link_type_name(link) + " is not supported");
    }
    // --transport socket: one ordinary connection per copy, no forged packets, no intercept.
    const bool socket_mode = o.transport == TransportMode::Socket;
    RawIo io;
    std::unique_ptr<DiffWriter> diff;
    if (socket_mode) {
        prepare_socket(o);
        if (!o.diff_file.empty()) {
            const std::string header = "# tcpreplay2 --diff: live sessions of " + o.interface +
                                       " port " + std::to_string(port) + " copied to " +
                                       o.target.to_string() +
                                       " whose answers' first line or length differ from the "
                                       "online server's\n";
            diff = std::make_unique<DiffWriter>(o.diff_file, header);
        }
    } else {
        io = open_raw_io(o, "tcpreplay2 live pid " + std::to_string(getpid()),
                         "live passthrough needs intercept to see the target's answers: give "
                         "--intercept HOST[:PORT] (tcpcopy's -s), or use --transport socket");
    }

    Recorder rec;
    if (!lv.record.empty()) {
        const std::string partial = os::AtomicFile::partial_name(lv.record);
        if (os::file_exists(partial)) {
            throw Error(ErrorKind::Io, "cannot record to '" + lv.record + "': '" + partial +
                                           "' exists (left by an interrupted recording? "
                                           "'tcprec --repair " +
                                           partial + "' recovers it; remove it to record anew)");
        }
        rec.file.emplace(os::AtomicFile::create(lv.record));
        rec.file->keep_partial_on_abort();
    }

    std::optional<os::PidFile> pidfile;
    if (lv.daemon) {
        pidfile.emplace(os::daemonize(os::DaemonOptions{lv.logfile, lv.pidfile}));
    } else if (!lv.pidfile.empty()) {
        pidfile.emplace(os::PidFile::create(lv.pidfile));
    }

    if (rec.file) {
        archive::WriterOptions wo;
        wo.link_type = link;
        wo.snaplen = source->snaplen();
        wo.level = lv.record_level;
        wo.background = true;  // compression on a worker thread: the copy loop never waits
        wo.server_port = port;
        wo.source = source->describe();
        rec.writer = std::make_unique<archive::ArchiveWriter>(*rec.file, wo);
    }

    LiveConfig lc;
    lc.server_port = port;
    lc.policy = o.builder.policy;
    lc.client_nets = o.builder.selection.client_nets;
    lc.sample_percent = o.builder.selection.sample_percent;
    lc.sample_seed = o.builder.selection.sample_seed;
    if (!o.client_pool && !socket_mode) {
        lc.ip_version = o.target.addr.version;  // forged packets keep the client's family
    }
    lc.copies = o.copies;
    lc.max_active = o.max_active;
    lc.idle_ns = lv.idle_ns;
    lc.max_buffer_bytes = lv.max_buffer_bytes;
    lc.capture_start_ns =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
    LiveSessions live(lc);

    const TransportUse use{1000, &live};  // copies go at the live client's pace
    std::unique_ptr<Transport> transport =
        make_transport(live.recording(), o, use, std::move(io), diff.get());

    const std::string via =
        socket_mode ? std::string("socket transport") : "intercept " + o.intercept->to_string();
    log::info("copying %s to %s (%s), copies %u%s", source->describe().c_str(),
              o.target.to_string().c_str(), via.c_str(), o.copies,
              rec.writer ? (", recording to " + lv.record).c_str() : "");

    os::Epoll epoll = os::Epoll::create();
    os::use_precise_timers();
    source->set_nonblocking(true);
    const int capture_fd = source->selectable_fd();
    epoll.add(capture_fd, os::Epoll::kReadable, kCaptureTag);
    transport->attach(epoll);
    os::StatusLine status(!o.quiet, std::chrono::seconds(1),
                          std::chrono::milliseconds(lv.stats_interval_ns / 1'000'000));
    std::vector<os::Epoll::Event> events;
    std::vector<uint32_t> ids;
    // Copies to start, in order. A start fails when no client endpoint is free (every port of
    // the address lingers at the target): the queue then waits kStartRetryNs, so a run short
    // of endpoints does not spend its time probing for them.
    std::deque<PendingStart> starts;
    os::CapturedPacket pkt;

    const uint64_t t0 = os::monotonic_ns();
    uint64_t next_sweep = t0 + kSweepNs, blocked_until = 0, drain_until = 0;
    bool capturing = true;
    std::string stop_reason;
    uint64_t started_sessions = 0;

    auto record_packet = [&](const os::CapturedPacket& p) {
        if (!rec.writer || !rec.error.empty()) {
            return;
        }
        try {
            rec.writer->add(p.ts_ns, p.orig_len, p.bytes);
        } catch (const Error& e) {
            rec.error = e.what();
            log::error(
                "recording stopped: %s (copying goes on; frames written so far are in "
                "'%s': tcprec --repair recovers them)",
                e.what(), rec.file->partial_path().c_str());
        }
    };

    while (true) {
        uint64_t now = os::monotonic_ns();
        if (capturing &&
            (os::StopSignal::requested() || (o.duration_ns && now >= t0 + *o.duration_ns))) {
            capturing = false;
            stop_reason = os::StopSignal::requested() ? "signal" : "duration";
            // Packets already captured are still copied (and recorded).
            while (source->next(pkt) == os::PacketSource::Status::Packet) {
                record_packet(pkt);
                live.add_frame(link, pkt.ts_ns, pkt.bytes, now);
            }
            epoll.remove(capture_fd);
            live.close_all(now);
            drain_until = now + lv.drain_ns;
        }
        if (capturing) {
            for (int i = 0; i < kBatch; ++i) {
                if (source->next(pkt) != os::PacketSource::Status::Packet) {
                    break;
                }
                record_packet(pkt);
                live.add_frame(link, pkt.ts_ns, pkt.bytes, now);
            }
        }
        // New sessions: start their copies; changed ones: let their copies move on.
        live.take_new(ids);
        for (uint32_t id : ids) {
            ++started_sessions;
            for (uint32_t k = 0; k < o.copies; ++k) {
                starts.push_back({id, k, now + o.timeout_ns});
            }
        }
        while (!starts.empty() && now >= blocked_until) {
            const PendingStart p = starts.front();
            if (now >= p.give_up_at) {
                starts.pop_front();
                live.copy_not_started(p.session);
                log::debug("copy %u of session %u not started: no free client endpoint", p.copy,
                           p.session);
                continue;
            }
            StartEvent e;
            e.session = p.session;
            e.copy = p.copy;
            if (!transport->start(e, now, now)) {
                blocked_until = now + kStartRetryNs;
                break;
            }
            starts.pop_front();
            live.copy_started(p.session);
        }
        live.take_changed(ids);
        for (uint32_t id : ids) {
            live.progress(id, transport->wake(id, now));
        }
        transport->on_timer(now);
        transport->flush(now);
        if (now >= next_sweep) {
            live.expire(now);
            next_sweep = now + kSweepNs;
        }
        if (rec.writer && rec.error.empty() && now >= rec.last_flush + kFlushNs) {
            try {
                rec.writer->flush();
            } catch (const Error& e) {
                rec.error = e.what();
                log::error("recording stopped: %s", e.what());
            }
            rec.last_flush = now;
        }
        if (!capturing) {
            if (transport->active() == 0 && starts.empty()) {
                break;
            }
            if (now >= drain_until) {
                transport->abort_all(now);
                break;
            }
        }
        const auto steady = std::chrono::steady_clock::now();
        if (status.due(steady)) {
            const os::CaptureCounters cc = source->counters();
            status.show(
                live_line(live.stats(), live, transport->counters(), transport->active(),
                          cc.kernel_drops + cc.interface_drops, now - t0,
                          rec.writer ? human_bytes(rec.writer->stats().file_bytes) : std::string(),
                          transport->health()),
                steady);
        }
        uint64_t next = std::min({transport->next_deadline(), now + kWakeNs, next_sweep});
        if (!starts.empty()) {
            next = std::min(next, std::max(blocked_until, now));
        }
        if (!capturing) {
            next = std::min(next, drain_until);
        }
        const uint64_t before_sleep = os::monotonic_ns();
        epoll.wait_ns(events, next > before_sleep ? next - before_sleep : 0);
        for (const auto& e : events) {
            if (e.tag != kCaptureTag) {
                transport->on_event(e, os::monotonic_ns());
            }
        }
    }
    transport->flush(os::monotonic_ns());
    status.clear();
    const uint64_t wall = os::monotonic_ns() - t0;
    const os::CaptureCounters cc = source->counters();
    const uint64_t drops = cc.kernel_drops + cc.interface_drops;

    // The archive: finished and published even when stopped by a signal.
    std::string recorded;
    std::string record_error = rec.error;
    if (rec.writer) {
        if (record_error.empty()) {
            try {
                archive::CaptureTotals extra;
                extra.kernel_drops = cc.kernel_drops;
                extra.interface_drops = cc.interface_drops;
                rec.writer->finish(extra);
                rec.file->commit();
                const archive::WriterStats ws = rec.writer->stats();
                recorded = lv.record + " (" + num(ws.packets) + " packets, " +
                           human_bytes(ws.file_bytes) + ")";
            } catch (const Error& e) {
                record_error = e.what();
            }
        }
        if (!record_error.empty()) {
            recorded = "FAILED: " + record_error + " (frames written so far are in '" +
                       rec.file->partial_path() + "')";
        }
    }

    const LiveStats& l = live.stats();
    RunSummary s;
    s.input = "live " + o.interface + " port " + std::to_string(port);
    s.format = "live capture";
    s.target = o.target.to_string();
    s.transport = describe_transport(o, use);
    if (socket_mode) {
        s.mode = TransportMode::Socket;
    } else {
        s.intercept = o.intercept->to_string();
    }
    s.speed_milli = 1000;
    s.copies = o.copies;
    s.loops = 1;
    s.recorded_ns = wall;
    s.wall_ns = wall;
    BuildStats& b = s.build;
    b.records = l.frames;
    b.tcp_packets = l.tcp_packets;
    b.skipped = l.skipped;
    b.connections = l.connections + l.mid_session;
    b.not_selected = l.not_selected + l.dropped_cap + l.dropped_buffer;
    b.mid_session_no_boundary = l.mid_session_never;
    b.mid_session_skipped_bytes = l.mid_session_skipped_bytes;
    b.sessions = l.sessions;
    b.mid_session = l.mid_session;
    b.requests = l.requests;
    b.client_bytes = l.client_bytes;
    b.missing_bytes = l.missing_bytes;
    s.sessions_in_recording = l.sessions;
    s.sessions_skipped_family = l.other_family;
    s.counters = transport->counters();
    s.counters.sessions_planned = started_sessions * o.copies;
    s.counters.requests_unsent += l.requests_unsent;
    s.counters.status_match += l.status_match;
    s.counters.status_mismatch += l.status_mismatch;
    s.counters.status_unknown += l.status_unknown;
    for (const auto& m : l.mismatch_examples) {
        if (s.counters.mismatch_examples.size() < ReplayCounters::kMaxExamples) {
            s.counters.mismatch_examples.push_back(m);
        }
    }
    s.stop_reason = stop_reason;
    s.max_failed_percent = o.max_failed_percent;
    std::fputs(format_summary(s).c_str(), stdout);
    std::fputs(format_live_summary(l, drops, recorded).c_str(), stdout);
    std::fflush(stdout);
    if (!o.report_json.empty()) {
        const std::string json = format_live_json(s, l, drops, recorded);
        os::AtomicFile f = os::AtomicFile::create(o.report_json);
        f.write(
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
        f.commit();
    }
    if (drops > 0) {
        log::warn(
            "the kernel dropped %llu packets of the capture: their sessions were copied "
            "incompletely; try a narrower --sample",
            static_cast<unsigned long long>(drops));
    }
    if (!record_error.empty()) {
        throw Error(ErrorKind::Io, "recording to '" + lv.record + "' failed: " + record_error);
    }
    return failed_beyond(s) ? kExitDamaged : kExitOk;
}

}  // namespace tcpr::replay
