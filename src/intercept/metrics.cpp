#include "intercept/metrics.h"

#include "common/metrics/exposition.h"

namespace tcpr::icpt {

std::string format_metrics(const ReportServer& server, const ResponseCapture* capture) {
    using Type = metrics::TextWriter::Type;
    const ServerStats s = server.stats();
    const ReportRouter::Counters& reg = server.router().counters();
    metrics::TextWriter w;
    w.gauge("intercept_replayers", "Replayers connected now (Hello done)",
            static_cast<double>(server.replayers()));
    w.counter("intercept_replayers_connected_total", "Replayers that completed the Hello",
              s.replayers_seen);
    w.counter("intercept_replayers_refused_total", "Replayer connections refused by --allow",
              s.replayers_refused);
    w.counter("intercept_protocol_errors_total",
              "Replayer connections closed for a bad frame or message", s.protocol_errors);
    w.counter("intercept_idle_closed_total",
              "Replayer connections closed for silence (idle, or no Hello in time)", s.idle_closed);
    w.gauge("intercept_registrations", "Client tuples registered now",
            static_cast<double>(server.router().size()));
    w.counter("intercept_registrations_total", "Client tuples registered", reg.added);
    w.counter("intercept_registrations_expired_total", "Registrations unused for --expiry, removed",
              reg.expired);
    w.counter("intercept_registrations_refused_total",
              "Registrations refused: the tuple is held by another replayer",
              s.registrations_refused);
    w.counter("intercept_replayers_auth_failed_total",
              "Replayers refused for their key (none, or a wrong one: --auth-key)", s.auth_failed);
    w.gauge("intercept_queued_bytes", "Report bytes waiting to be sent to the replayers",
            static_cast<double>(server.queued_bytes()));
    w.counter("intercept_reports_sent_total", "Reports queued to their replayer", s.reported);
    w.counter("intercept_report_frames_sent_total", "Reports frames queued", s.frames_sent);
    w.counter("intercept_reports_merged_total",
              "Segments merged into the report of the segment before (replayers not comparing "
              "bodies)",
              s.reports_merged);
    w.counter("intercept_reports_unroutable_total",
              "Captured packets of no registered tuple (not reported)", s.unroutable);
    w.family("intercept_reports_dropped_total", Type::Counter,
             "Reports dropped: the replayer's queue was full (--queue-limit), or it was gone");
    w.sample("intercept_reports_dropped_total", {{"reason", "queue_full"}}, s.dropped_slow);
    w.sample("intercept_reports_dropped_total", {{"reason", "replayer_gone"}}, s.dropped_closed);
    const os::CaptureCounters c = capture != nullptr ? capture->counters() : os::CaptureCounters{};
    w.counter("intercept_packets_captured_total", "Packets captured",
              capture != nullptr ? capture->packets() : 0);
    w.counter("intercept_packets_skipped_total", "Captured packets that were no usable TCP",
              capture != nullptr ? capture->skips().total() : 0);
    w.family("intercept_capture_drops_total", Type::Counter,
             "Packets dropped before the capture read them");
    w.sample("intercept_capture_drops_total", {{"where", "kernel"}}, c.kernel_drops);
    w.sample("intercept_capture_drops_total", {{"where", "interface"}}, c.interface_drops);
    return w.take();
}

}  // namespace tcpr::icpt
