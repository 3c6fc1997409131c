// run_intercept: capture + server + (optionally) daemon, until SIGINT/SIGTERM; then a summary.
#include <memory>
#include <optional>

#include "common/base/log.h"
#include "common/base/parse.h"
#include "common/cli/run_main.h"
#include "common/net/skip_reason.h"
#include "common/os/daemon.h"
#include "common/os/interfaces.h"
#include "common/os/metrics_server.h"
#include "common/os/pcap_source.h"
#include "common/os/privileges.h"
#include "common/os/stop_signal.h"
#include "intercept/metrics.h"
#include "intercept/options.h"
#include "intercept/report_server.h"
#include "intercept/response_capture.h"

namespace tcpr::icpt {

int run_intercept(const InterceptOptions& o) {
    os::LiveCaptureOptions lo;
    lo.interface = o.interface;
    lo.snaplen_bytes = o.snaplen;
    lo.promiscuous = o.promiscuous;
    lo.buffer_bytes = o.buffer_bytes;
    lo.filter = effective_filter(o.filter, o.server.bind.port);
    // Not libpcap's immediate mode: it falls back to a TPACKET_V2 ring of fixed slots as large as
    // the biggest packet (64 kB with receive offload), so a 32 MB buffer held only 512 packets
    // and bursts of whole-payload captures were dropped in the kernel. The TPACKET_V3 ring packs
    // packets by their size; its blocks are handed over when full or after 1 ms, a delay
    // below intercept's own batching (docs/intercept-protocol.md, "Batching").
    lo.immediate = false;
    lo.read_timeout = std::chrono::milliseconds(1);
    ResponseCapture capture(os::open_live(lo));
    // The metrics server before the report server: it must outlive it (attach_metrics).
    const ReportServer* served = nullptr;
    std::unique_ptr<os::MetricsServer> metrics;
    if (o.metrics) {
        metrics = std::make_unique<os::MetricsServer>(
            *o.metrics, [&served, &capture] { return format_metrics(*served, &capture); });
    }
    ServerOptions so = o.server;
    so.allow = allow_list(o, o.allow_given ? std::vector<net::Cidr>{} : os::interface_networks());
    ReportServer server(so, &capture);
    if (metrics) {
        served = &server;
        server.attach_metrics(metrics.get());
    }

    std::optional<os::PidFile> pidfile;
    if (o.daemon) {
        pidfile.emplace(os::daemonize(os::DaemonOptions{o.logfile, o.pidfile}));
    } else if (!o.pidfile.empty()) {
        pidfile.emplace(os::PidFile::create(o.pidfile));
    }
    // Everything privileged is open: the capture, the listening sockets, the files.
    os::drop_privileges(o.user, o.user_given);
    log::info("capturing on %s; listening for replayers on %s (allowed: %s%s; %s)",
              capture.describe().c_str(), server.local_endpoint().to_string().c_str(),
              so.allow.to_string().c_str(), o.allow_given ? "" : ": the attached networks",
              so.auth_key.empty() ? "no key" : "key required");
    if (metrics) {
        log::info("serving metrics on http://%s/metrics",
                  metrics->local_endpoint().to_string().c_str());
    }

    const auto start = std::chrono::steady_clock::now();
    server.run([] { return os::StopSignal::requested(); });

    const ServerStats s = server.stats();
    const os::CaptureCounters c = capture.counters();
    const net::SkipCounts& skips = capture.skips();
    log::info(
        "stopped after %s: %llu packets captured, %llu reported (%llu more merged into them), "
        "%llu unroutable "
        "(no registered replayer), %llu dropped for slow replayers, %llu replayers seen "
        "(%llu refused), kernel drops %llu",
        format_duration(std::chrono::steady_clock::now() - start).c_str(),
        static_cast<unsigned long long>(capture.packets()),
        static_cast<unsigned long long>(s.reported),
        static_cast<unsigned long long>(s.reports_merged),
        static_cast<unsigned long long>(s.unroutable),
        static_cast<unsigned long long>(s.dropped_slow + s.dropped_closed),
        static_cast<unsigned long long>(s.replayers_seen),
        static_cast<unsigned long long>(s.replayers_refused),
        static_cast<unsigned long long>(c.kernel_drops + c.interface_drops));
    if (skips.total() > 0) {
        log::info("not reported (not a decodable TCP packet): %llu: %s",
                  static_cast<unsigned long long>(skips.total()), skips.breakdown().c_str());
    }
    if (s.registrations_refused + s.protocol_errors + s.auth_failed > 0) {
        log::info(
            "registrations refused (tuple held by another replayer): %llu; replayers refused "
            "for their key: %llu; connections closed for protocol errors: %llu",
            static_cast<unsigned long long>(s.registrations_refused),
            static_cast<unsigned long long>(s.auth_failed),
            static_cast<unsigned long long>(s.protocol_errors));
    }
    return kExitOk;
}

}  // namespace tcpr::icpt
