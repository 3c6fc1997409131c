#include "replayer/run/live_replay.h"

#include <chrono>
#include <memory>
#include <optional>
#include <unistd.h>

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/cli/run_main.h"
#include "common/net/link_type.h"
#include "common/os/daemon.h"
#include "common/os/pcap_source.h"
#include "replayer/run/run_loop.h"
#include "replayer/run/summary.h"
#include "replayer/run/transport_setup.h"
#include "replayer/source/live_source.h"

namespace tcpr::replay {
namespace {

// The capture of the online port. Throws Error: no permission, no such interface, or a link
// type the session engine cannot decode.
std::unique_ptr<os::PacketSource> open_capture(const ReplayOptions& o, uint16_t port) {
    os::LiveCaptureOptions lo;
    lo.interface = o.interface;
    lo.promiscuous = o.live.promiscuous;
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
    return source;
}

// --transport socket: prepare_socket() and the --diff file (null without --diff).
std::unique_ptr<DiffWriter> prepare_socket_live(const ReplayOptions& o, uint16_t port) {
    prepare_socket(o);
    if (o.diff_file.empty()) {
        return nullptr;
    }
    const std::string header = "# tcpreplay2 --diff: live sessions of " + o.interface + " port " +
                               std::to_string(port) + " copied to " + o.target.to_string() +
                               " whose answers' first line or length differ from the "
                               "online server's\n";
    return std::make_unique<DiffWriter>(o.diff_file, header);
}

LiveConfig live_config(const ReplayOptions& o, uint16_t port) {
    LiveConfig lc;
    lc.server_port = port;
    lc.policy = o.builder.policy;
    lc.client_nets = o.builder.selection.client_nets;
    lc.sample_percent = o.builder.selection.sample_percent;
    lc.sample_seed = o.builder.selection.sample_seed;
    if (!o.client_pool && o.transport != TransportMode::Socket) {
        lc.ip_version = o.target.addr.version;  // forged packets keep the client's family
    }
    lc.copies = o.copies;
    lc.max_active = o.max_active;
    lc.idle_ns = o.live.idle_ns;
    lc.max_buffer_bytes = o.live.max_buffer_bytes;
    lc.max_lag_ns = o.live.max_lag_ns;
    lc.digest_answers = o.compare;  // the online answers are the recorded side
    lc.noise = o.noise.get();
    lc.capture_start_ns =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
    return lc;
}

LiveSourceOptions source_options(const ReplayOptions& o, uint16_t port) {
    LiveSourceOptions so;
    so.input = "live " + o.interface + " port " + std::to_string(port);
    so.copies = o.copies;
    so.give_up_ns = o.timeout_ns;
    so.duration_ns = o.duration_ns;
    so.drain_ns = o.live.drain_ns;
    return so;
}

}  // namespace

std::string live_filter(uint16_t online_port, const net::Endpoint& target) {
    return "tcp port " + std::to_string(online_port) + " and not (host " + target.addr.to_string() +
           " and tcp port " + std::to_string(target.port) + ")";
}

int run_live(const ReplayOptions& o) {
    if (o.verbosity >= 2) {
        log::set_level(log::Level::Debug);
    } else if (o.quiet) {
        log::set_level(log::Level::Warn);
    }
    const uint16_t port = *o.builder.selection.server_port;
    const LiveOptions& lv = o.live;

    // The capture first (the clearest error without root), then the sender and intercept (or
    // the socket transport's --diff), then --record: every start-up error is reported here, in
    // the foreground, before -d detaches.
    if (o.start_at_ns) {
        throw Error(ErrorKind::Usage,
                    "--start-at is for archive replay (--in): live passthrough copies as the "
                    "traffic comes");
    }
    if (!o.report_requests.empty()) {
        throw Error(ErrorKind::Usage,
                    "--report requests is for archive replay (--in); live passthrough reports "
                    "per endpoint (--report json/html)");
    }
    check_output_paths(o);
    std::unique_ptr<os::PacketSource> capture = open_capture(o, port);
    const bool socket_mode = o.transport == TransportMode::Socket;
    RawIo io;
    std::unique_ptr<DiffWriter> diff;
    if (socket_mode) {
        diff = prepare_socket_live(o, port);
    } else {
        io = open_raw_io(o, "tcpreplay2 live pid " + std::to_string(getpid()), "live passthrough",
                         o.compare);
    }
    MetricsSources metrics_sources;
    const std::unique_ptr<os::MetricsServer> metrics = open_metrics(o, metrics_sources);
    // Everything privileged is open; --record, -d's files and the reports are created as -Z.
    become_user(o, {});
    std::unique_ptr<LiveRecorder> recorder;
    if (!lv.record.empty()) {
        recorder = std::make_unique<LiveRecorder>(lv.record);
    }
    std::optional<os::PidFile> pidfile;
    if (lv.daemon) {
        pidfile.emplace(os::daemonize(os::DaemonOptions{lv.logfile, lv.pidfile}));
    } else if (!lv.pidfile.empty()) {
        pidfile.emplace(os::PidFile::create(lv.pidfile));
    }
    if (recorder) {
        recorder->start(*capture, port, lv.record_level);
    }

    const std::string described = capture->describe();
    LiveSource source(std::move(capture), live_config(o, port), source_options(o, port),
                      std::move(recorder));
    const TransportUse use{1000, &source.sessions()};  // copies go at the live client's pace
    std::unique_ptr<Transport> transport =
        make_transport(source.sessions().recording(), o, use, std::move(io), diff.get());
    const std::string via =
        socket_mode ? std::string("socket transport") : "intercept " + o.intercept->to_string();
    log::info("copying %s to %s (%s), copies %u%s", described.c_str(), o.target.to_string().c_str(),
              via.c_str(), o.copies,
              lv.record.empty() ? "" : (", recording to " + lv.record).c_str());

    RunLoopOptions lo;
    lo.max_active = kNever;      // LiveSessions holds new sessions to --max-active at admission
    lo.abort_on_signal = false;  // the source stops capturing, then drains
    lo.progress = !o.quiet;
    lo.plain_progress_period = std::chrono::milliseconds(lv.stats_interval_ns / 1'000'000);
    lo.metrics = metrics.get();
    // Live copies follow the capture, not a schedule: their timers (delayed ACKs, settle
    // pauses, retransmissions) may fire up to 1 ms late, which serves the 3 copies of one
    // request with one wake-up instead of three (at 10 connections with 10 ms think time,
    // half of the copier's wake-ups were timers, most of them microseconds apart).
    lo.timer_slack_ns = kLiveTimerSlackNs;
    metrics_sources.transport = transport.get();
    metrics_sources.live = &source;
    const RunResult run = run_loop(source, *transport, lo);

    source.finish();
    if (diff) {
        diff->commit();
    }
    const RunSummary s =
        build_summary(o, describe_transport(o, use), diff ? diff->path() : std::string(),
                      *transport, source, run);
    publish_summary(o, s, source);
    if (source.capture_drops() > 0) {
        log::warn(
            "the kernel dropped %llu packets of the capture: their sessions were copied "
            "incompletely; try a narrower --sample",
            static_cast<unsigned long long>(source.capture_drops()));
    }
    if (!source.record_error().empty()) {
        throw Error(ErrorKind::Io,
                    "recording to '" + lv.record + "' failed: " + source.record_error());
    }
    return failed_beyond(s) ? kExitDamaged : kExitOk;
}

}  // namespace tcpr::replay
