#include "replayer/report/metrics.h"

#include <initializer_list>
#include <iterator>
#include <utility>
#include <vector>

namespace tcpr::replay {
namespace {

using metrics::TextWriter;
using Type = metrics::TextWriter::Type;

size_t bound_index(double seconds) {
    size_t i = 0;
    while (i < std::size(kLatencyBounds) && kLatencyBounds[i] < seconds) {
        ++i;
    }
    return i;  // std::size(kLatencyBounds): above the last bound (+Inf only)
}

std::vector<metrics::Bucket> empty_buckets() {
    std::vector<metrics::Bucket> b;
    for (const double bound : kLatencyBounds) {
        b.push_back({bound, 0});
    }
    return b;
}

void results(TextWriter& w, const char* name, const char* help,
             std::initializer_list<std::pair<const char*, uint64_t>> values) {
    w.family(name, Type::Counter, help);
    for (const auto& [result, v] : values) {
        w.sample(name, {{"result", result}}, v);
    }
}

}  // namespace

std::vector<metrics::Bucket> latency_buckets(const LogHistogram& h_us) {
    std::vector<metrics::Bucket> b = empty_buckets();
    for (const auto& [index, n] : h_us.buckets()) {
        const uint64_t largest_us = LogHistogram::bucket_floor(index + 1) - 1;
        const size_t i = bound_index(static_cast<double>(largest_us) / 1e6);
        if (i < b.size()) {
            b[i].count += n;
        }
    }
    return b;
}

std::vector<metrics::Bucket> lateness_buckets(const LatenessHistogram& h) {
    std::vector<metrics::Bucket> b = empty_buckets();
    for (const auto& [index, n] : h.buckets()) {
        const size_t i =
            bound_index(static_cast<double>(LatenessHistogram::upper_bound(index)) / 1e9);
        if (i < b.size()) {
            b[i].count += n;
        }
    }
    return b;
}

std::string format_metrics(const MetricsView& v) {
    static const ReplayCounters kNone;
    const ReplayCounters& c = v.counters != nullptr ? *v.counters : kNone;
    const LiveStats* l = v.live;
    TextWriter w;

    // Sessions.
    w.gauge("tcpreplay2_sessions_planned",
            "Session copies planned: sessions x copies x loops (live: sessions copied x copies)",
            static_cast<double>(l != nullptr ? l->sessions * v.copies : c.sessions_planned));
    w.gauge("tcpreplay2_sessions_active", "Session copies started and not finished",
            static_cast<double>(v.active));
    w.gauge("tcpreplay2_copies", "Copies of every session (--copies)", v.copies);
    w.counter("tcpreplay2_sessions_started_total", "Session copies started", c.sessions_started);
    w.counter("tcpreplay2_sessions_completed_total", "Session copies completed",
              c.sessions_completed);
    w.counter("tcpreplay2_sessions_reset_total",
              "Session copies reset by the target before they were done", c.sessions_reset);
    w.counter("tcpreplay2_sessions_timed_out_total",
              "Session copies without progress within --timeout (we sent RST)",
              c.sessions_timed_out);
    w.counter("tcpreplay2_sessions_aborted_total",
              "Session copies cut by the end of the run (--duration, signal)", c.sessions_aborted);
    w.counter("tcpreplay2_sessions_conn_error_total",
              "Session copies ended by another connection error (socket transport)",
              c.sessions_conn_error);
    w.counter("tcpreplay2_sessions_unanswered_total",
              "Completed session copies whose target closed without answering a request",
              c.sessions_unanswered);

    // Requests and answers.
    w.counter("tcpreplay2_requests_sent_total", "Requests sent to the target", c.requests_sent);
    w.counter("tcpreplay2_requests_unsent_total", "Requests left when a session ended early",
              c.requests_unsent + (l != nullptr ? l->requests_unsent : 0));
    w.counter("tcpreplay2_responses_seen_total", "Requests the target answered (>= 1 byte)",
              c.responses_seen);
    w.counter("tcpreplay2_response_bytes_total", "Target payload bytes answered", c.response_bytes);
    uint64_t body[3] = {0, 0, 0}, head[3] = {0, 0, 0};  // compared, mismatch, noise
    for (const EndpointStats& e : c.endpoints.all()) {
        body[0] += e.body_compared;
        body[1] += e.body_mismatch;
        body[2] += e.body_noise;
        head[0] += e.head_compared;
        head[1] += e.head_mismatch;
        head[2] += e.head_noise;
    }
    const auto match = [](const uint64_t(&a)[3]) {
        return a[0] >= a[1] + a[2] ? a[0] - a[1] - a[2] : 0;
    };
    results(w, "tcpreplay2_status_comparisons_total",
            "Answers' first lines compared with the recording's",
            {{"match", c.status_match + (l != nullptr ? l->status_match : 0)},
             {"mismatch", c.status_mismatch + (l != nullptr ? l->status_mismatch : 0)},
             {"unknown", c.status_unknown + (l != nullptr ? l->status_unknown : 0)}});
    results(w, "tcpreplay2_header_comparisons_total",
            "Answers' headers compared with the recording's (noise: differing between copies)",
            {{"match", match(head)}, {"mismatch", head[1]}, {"noise", head[2]}});
    results(w, "tcpreplay2_body_comparisons_total",
            "Answers' bodies compared with the recording's (noise: differing between copies)",
            {{"match", match(body)}, {"mismatch", body[1]}, {"noise", body[2]}});

    // Packets.
    w.counter("tcpreplay2_packets_sent_total", "Packets sent", c.packets_sent);
    w.counter("tcpreplay2_bytes_sent_total", "IP bytes sent", c.bytes_sent);
    w.counter("tcpreplay2_packets_refused_total",
              "Packets refused by the target guard (a bug if ever > 0)", c.send_refused);
    w.counter("tcpreplay2_packets_failed_total", "Packets the kernel failed to send",
              c.send_failed);
    w.counter("tcpreplay2_packets_dropped_total", "Packets dropped: the kernel queue was full",
              c.send_would_block);
    w.counter("tcpreplay2_retransmissions_total", "Data and FIN segments sent again",
              c.retransmissions);

    // Intercept link.
    w.counter("tcpreplay2_intercept_reports_total", "Reports received from intercept", c.reports);
    w.counter("tcpreplay2_intercept_reports_unmatched_total",
              "Reports for no live session of ours (late or stray)", c.reports_unmatched);
    w.counter("tcpreplay2_intercept_disconnects_total", "Connections to intercept lost",
              c.intercept_disconnects);
    w.counter("tcpreplay2_intercept_reconnects_total", "Connections to intercept made again",
              c.intercept_reconnects);

    // Timing.
    w.family("tcpreplay2_start_lateness_seconds", Type::Histogram,
             "How far each session's first packet was from its scheduled start");
    const auto lateness = lateness_buckets(c.start_lateness);
    w.histogram("tcpreplay2_start_lateness_seconds", {}, lateness,
                static_cast<double>(c.start_lateness.sum_ns()) / 1e9, c.start_lateness.count());
    EndpointStats all;
    for (const EndpointStats& e : c.endpoints.all()) {
        all.merge(e);
    }
    const auto latency = [&](const char* name, const char* help, const LogHistogram& recorded,
                             const LogHistogram& replayed) {
        w.family(name, Type::Histogram, help);
        for (const auto& [side, h] :
             {std::pair<const char*, const LogHistogram*>{"recorded", &recorded},
              {"replayed", &replayed}}) {
            const auto b = latency_buckets(*h);
            w.histogram(name, {{"source", side}}, b, static_cast<double>(h->sum()) / 1e6,
                        h->count());
        }
    };
    latency("tcpreplay2_response_first_byte_seconds",
            "From a request's last byte to its answer's first byte, every endpoint",
            all.recorded_first_us, all.replayed_first_us);
    latency("tcpreplay2_response_last_byte_seconds",
            "From a request's last byte to its answer's last byte, every endpoint",
            all.recorded_last_us, all.replayed_last_us);

    if (l != nullptr) {
        w.counter("tcpreplay2_live_connections_total", "New connections seen (client SYNs)",
                  l->connections);
        w.counter("tcpreplay2_live_sessions_copied_total", "Sessions copied (with or without SYN)",
                  l->sessions);
        w.family("tcpreplay2_live_dropped_total", Type::Counter,
                 "Connections not copied, by reason");
        w.sample("tcpreplay2_live_dropped_total", {{"reason", "max_active"}}, l->dropped_cap);
        w.sample("tcpreplay2_live_dropped_total", {{"reason", "buffer_full"}}, l->dropped_buffer);
        w.sample("tcpreplay2_live_dropped_total", {{"reason", "tracking"}}, l->dropped_tracking);
        w.sample("tcpreplay2_live_dropped_total", {{"reason", "behind"}}, l->dropped_behind);
        w.gauge("tcpreplay2_live_lag_seconds",
                "How far the furthest-behind copy was behind its live connection (last sweep)",
                static_cast<double>(l->lag_ns) / 1e9);
        w.counter("tcpreplay2_live_sessions_cut_total",
                  "Sessions cut at their byte limit (copies end with RST)", l->cut);
        w.counter("tcpreplay2_live_sessions_behind_total",
                  "Sessions whose copies were given no more requests: over --max-lag behind",
                  l->cut_behind);
        w.counter("tcpreplay2_live_sessions_capture_loss_total",
                  "Sessions whose copies ended before a request the capture lost bytes of",
                  l->cut_capture_loss);
        w.counter("tcpreplay2_live_requests_total", "Requests captured", l->requests);
        w.gauge("tcpreplay2_live_buffered_bytes", "Client bytes held for copies now",
                static_cast<double>(v.buffered_bytes));
        w.gauge("tcpreplay2_live_open_sessions", "Sessions being copied now",
                static_cast<double>(v.open_sessions));
        w.counter("tcpreplay2_live_capture_drops_total",
                  "Packets the kernel or the interface dropped from the capture", v.capture_drops);
    }
    return w.take();
}

}  // namespace tcpr::replay
