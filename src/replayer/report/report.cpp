#include "replayer/report/report.h"

#include <chrono>
#include <cstdio>

#include "common/base/json.h"
#include "common/base/parse.h"
#include "common/base/stats.h"
#include "common/net/skip_reason.h"

namespace tcpr::replay {
namespace {

std::string num(uint64_t v) { return std::to_string(v); }

std::string fixed(double v, int decimals) { return fixed_text(v, decimals); }

std::string duration_text(uint64_t ns) {
    return format_duration(std::chrono::nanoseconds(static_cast<int64_t>(ns)));
}

}  // namespace

std::string format_speed(uint32_t speed_milli) {
    if (speed_milli == 0) {
        return "max";
    }
    std::string s = fixed(speed_milli / 1000.0, 3);
    while (s.back() == '0') {
        s.pop_back();
    }
    if (s.back() == '.') {
        s.pop_back();
    }
    return s + "x";
}

double failed_percent(const ReplayCounters& c) {
    const uint64_t done = c.sessions_done();
    if (done == 0) {
        return 0.0;
    }
    return 100.0 *
           static_cast<double>(c.sessions_reset + c.sessions_timed_out + c.sessions_conn_error +
                               c.sessions_unanswered) /
           static_cast<double>(done);
}

bool failed_beyond(const RunSummary& s) {
    return failed_percent(s.counters) > s.max_failed_percent;
}

namespace {

// What was replayed where, how fast, and why it stopped early.
std::string run_lines(const RunSummary& s) {
    std::string o;
    o += "replayed " + s.input + " (" + s.format + ") into " + s.target + " via " + s.transport;
    if (!s.intercept.empty()) {
        o += ", intercept " + s.intercept;
    }
    o += "\n";
    o += "  speed " + format_speed(s.speed_milli) + ", copies " + num(s.copies) + ", loops " +
         num(s.loops) + "; wall time " + duration_text(s.wall_ns) + " for " +
         duration_text(s.recorded_ns) + " recorded";
    if (s.wall_ns > 0 && s.recorded_ns > 0) {
        o += " (achieved " + fixed(static_cast<double>(s.recorded_ns) / s.wall_ns, 2) + "x)";
    }
    if (!s.stop_reason.empty()) {
        o += "; stopped early: " + s.stop_reason;
    }
    o += "\n";
    if (!s.merged_from.empty()) {
        o += "  merged from " + num(s.merged_from.size()) + " shard reports:";
        for (const std::string& f : s.merged_from) {
            o += " " + f;
        }
        o += " (wall time: the longest shard's)\n";
    }
    return o;
}

// How the session copies ended, and the connections that failed.
std::string session_lines(const RunSummary& s) {
    const ReplayCounters& c = s.counters;
    std::string o;
    o += "  sessions: " + num(c.sessions_started) + " started of " + num(c.sessions_planned) +
         " planned; " + num(c.sessions_completed) + " completed, " + num(c.sessions_reset) +
         " reset by target, " + num(c.sessions_timed_out) + " timed out";
    if (c.timed_out_intercept_down > 0) {
        o += " (" + num(c.timed_out_intercept_down) + " while intercept was unreachable)";
    }
    if (c.sessions_conn_error > 0) {
        o += ", " + num(c.sessions_conn_error) + " connection errors";
    }
    if (c.sessions_unanswered > 0) {
        o += ", " + num(c.sessions_unanswered) + " closed by the target with a request unanswered";
    }
    if (c.sessions_refused_tuple_held > 0) {
        o += ", " + num(c.sessions_aborted) + " aborted (" +
             num(c.sessions_aborted - c.sessions_refused_tuple_held) + " at the end, " +
             num(c.sessions_refused_tuple_held) + " refused by intercept: tuple held by another " +
             "replayer)\n";
    } else {
        o += ", " + num(c.sessions_aborted) + " aborted at the end\n";
    }
    if (c.connect_refused + c.connect_timed_out + c.sessions_conn_error > 0) {
        o += "  connections: " + num(c.connect_refused) + " refused, " + num(c.connect_timed_out) +
             " not established within --timeout, " + num(c.sessions_conn_error) +
             " failed with another error\n";
    }
    if (c.closed_early + c.closed_with_reset + c.endpoint_waits > 0) {
        o += "  closed early by target " + num(c.closed_early) + ", target kept open (we reset) " +
             num(c.closed_with_reset) + ", starts delayed for a free endpoint " +
             num(c.endpoint_waits) + "\n";
    }
    return o;
}

// Requests sent, the target's answers and how they compare with the recording.
std::string answer_lines(const RunSummary& s) {
    const ReplayCounters& c = s.counters;
    std::string o;
    o += "  requests: " + num(c.requests_sent) + " sent, " + num(c.requests_unsent) +
         " not sent (session ended first); responses: " + num(c.responses_seen) + " seen, " +
         num(c.responses_complete) + " at least as long as recorded, " + num(c.responses_quiet) +
         " shorter (ended by silence), " + human_bytes(c.response_bytes);
    if (c.requests_unanswered > 0) {
        o += "; " + num(c.requests_unanswered) +
             " requests unanswered (the target closed the connection first)";
    }
    o += "\n";
    const uint64_t compared = c.status_match + c.status_mismatch;
    o += "  status lines: " + num(c.status_match) + " of " + num(compared) + " match the recording";
    if (c.status_unknown > 0) {
        o += " (" + num(c.status_unknown) + " not comparable)";
    }
    o += "\n";
    for (const auto& m : c.mismatch_examples) {
        o += "    " + m.client + " request " + num(m.request + 1) + ": recorded '" + m.expected +
             "', got '" + m.got + "'\n";
    }
    if (c.length_equal + c.length_longer + c.length_shorter > 0) {
        o += "  response lengths: " + num(c.length_equal) + " as recorded, " +
             num(c.length_longer) + " longer, " + num(c.length_shorter) + " shorter; " +
             num(c.responses_differ) + " responses differ";
        if (!s.diff_file.empty()) {
            o += " (listed in " + s.diff_file + ")";
        }
        o += "\n";
    }
    return o;
}

// What the transport sent (bytes or packets), intercept, start lateness.
std::string transport_lines(const RunSummary& s) {
    const ReplayCounters& c = s.counters;
    std::string o;
    if (s.mode == TransportMode::Socket) {
        // The kernel's TCP stack made the packets: only the bytes are ours to count.
        o += "  sent: " + human_bytes(c.payload_bytes_sent) +
             " of client data (packets are the kernel's)\n";
    } else {
        o += "  packets: " + num(c.packets_sent) + " sent (" + human_bytes(c.bytes_sent) + "), " +
             num(c.retransmissions) + " retransmitted (" +
             num(c.retransmissions - c.retransmissions_spurious) +
             " lost at the target or on the way, e.g. its accept queue full; " +
             num(c.retransmissions_spurious) +
             " spurious: intercept's report came after our timer), " + num(c.syn_retransmissions) +
             " SYN retries";
        if (c.syn_tuple_in_use > 0) {
            o += " (" + num(c.syn_tuple_in_use) +
                 " SYNs met an older connection on their tuple at the target: reset, retried)";
        }
        if (c.send_would_block + c.send_failed + c.send_refused > 0) {
            o += ", " + num(c.send_would_block) + " dropped (queue full), " + num(c.send_failed) +
                 " failed, " + num(c.send_refused) + " refused (not to the target)";
        }
        o += "\n";
    }
    if (!s.intercept.empty()) {
        o += "  intercept: " + num(c.reports) + " reports (" + num(c.reports_unmatched) +
             " for no live session), " + num(c.intercept_disconnects) + " disconnects, " +
             num(c.intercept_reconnects) + " reconnects\n";
    }
    if (c.start_lateness.count() > 0) {
        const LatenessHistogram& late = c.start_lateness;
        o += "  session starts vs schedule: " + num(late.count()) + " started late by " +
             fixed(static_cast<double>(late.percentile_ns(0.5)) / 1e3, 0) + " us at p50, " +
             fixed(static_cast<double>(late.percentile_ns(0.99)) / 1e3, 0) + " us at p99, " +
             fixed(static_cast<double>(late.max_ns()) / 1e3, 0) + " us at most\n";
    }
    return o;
}

// What the input held and what was left out or skipped.
std::string input_lines(const RunSummary& s) {
    std::string o;
    const BuildStats& b = s.build;
    o += "  input: " + num(b.records) + " frames, " + num(b.connections) + " connections -> " +
         num(s.sessions_in_recording) + " sessions (" + num(b.mid_session) + " without SYN), " +
         num(b.requests) + " requests";
    if (b.other_port + b.not_selected + b.without_data + s.sessions_skipped_family > 0) {
        o += "; left out: " + num(b.other_port) + " other port, " + num(b.not_selected) +
             " by --sessions/--sample, " + num(b.without_data) + " without client data";
        if (s.sessions_skipped_family > 0) {
            o += ", " + num(s.sessions_skipped_family) + " of the other IP version";
        }
    }
    if (s.shards > 1) {
        o += "; shard " + num(s.shard) + " of 0-" + num(s.shards - 1) + ": " + num(b.other_shard) +
             " connections left to the other shards";
    }
    o += "\n";
    if (b.mid_session + b.mid_session_no_boundary > 0) {
        o += "  captured mid-connection: " + num(b.mid_session) +
             " sessions replayed from their first whole request (" +
             human_bytes(b.mid_session_skipped_bytes) + " of client data before it and " +
             num(b.mid_session_skipped_answers) + " answers to uncaptured requests skipped), " +
             num(b.mid_session_no_boundary) + " ended before any whole request\n";
    }
    if (b.skipped.total() > 0) {
        o += "  skipped frames: " + num(b.skipped.total()) + ": " + b.skipped.breakdown() + "\n";
    }
    if (b.missing_bytes > 0) {
        o += "  client bytes missing from the capture (sent as zeros): " + num(b.missing_bytes) +
             "\n";
    }
    if (s.frames_damaged > 0) {
        o += "  damaged archive frames skipped: " + num(s.frames_damaged) + "\n";
        for (const auto& d : s.damage) {
            o += "    " + d + "\n";
        }
    }
    return o;
}

std::string latency_text(const LogHistogram& h, double q) {
    if (h.count() == 0) {
        return "?";
    }
    const uint64_t us = h.percentile(q);
    return us >= 10'000 ? fixed(static_cast<double>(us) / 1e3, 0) + " ms" : num(us) + " us";
}

// What the comparison treated as noise: the rules, and what differed between copies.
std::string noise_lines(const RunSummary& s) {
    const EndpointTable& t = s.counters.endpoints;
    uint64_t bodies = 0, heads = 0;
    for (const EndpointStats& e : t.all()) {
        bodies += e.body_noise;
        heads += e.head_noise;
    }
    std::string o = "  noise: " + num(bodies) + " bodies and " + num(heads) +
                    " heads set aside (their copies differ)";
    if (!t.noisy_headers().empty()) {
        o += "; headers differing between copies:";
        for (const auto& [name, n] : t.noisy_headers()) {
            o += " " + name + " (" + num(n) + ")";
        }
    }
    o += "; not compared: " + num(s.ignored_headers.size()) + " headers by rule";
    for (const std::string& r : s.ignore_body) {
        o += ", --ignore " + r;
    }
    for (const std::string& p : s.ignore_json) {
        o += ", --ignore-json " + p;
    }
    return o + "\n";
}

// The worst endpoints, last: what an operator reads first after a replay.
std::string endpoint_lines(const RunSummary& s) {
    const EndpointTable& t = s.counters.endpoints;
    if (t.empty()) {
        return {};
    }
    constexpr size_t kShown = 5;
    std::string o =
        "  endpoints: " + num(t.all().size()) +
        ", worst first (status and body mismatches, then latency change; latency from the "
        "request's last byte to the answer's first, recorded -> replayed):\n";
    size_t shown = 0;
    for (const EndpointStats* e : t.ranked()) {
        if (shown++ == kShown) {
            break;
        }
        const std::string bodies =
            e->body_compared > 0
                ? num(e->body_mismatch) + " of " + num(e->body_compared) + " bodies differ" +
                      (e->body_noise > 0
                           ? " (" + num(e->body_noise) + " set aside as noise: copies differ)"
                           : std::string())
                : std::string("bodies not compared");
        const std::string heads =
            e->head_compared > 0
                ? ", " + num(e->head_mismatch) + " of " + num(e->head_compared) +
                      " headers differ" +
                      (e->head_noise > 0 ? " (" + num(e->head_noise) + " set aside as noise)"
                                         : std::string())
                : std::string();
        o += "    " + e->name + ": " + num(e->requests) + " answers, " + num(e->status_mismatch) +
             " status mismatches, " + bodies + heads + "; p50 " +
             latency_text(e->recorded_first_us, 0.5) + " -> " +
             latency_text(e->replayed_first_us, 0.5) + ", p99 " +
             latency_text(e->recorded_first_us, 0.99) + " -> " +
             latency_text(e->replayed_first_us, 0.99) + "\n";
    }
    if (t.all().size() > kShown) {
        o += "    ... " + num(t.all().size() - kShown) + " more in --report json\n";
    }
    return o + noise_lines(s);
}

// The JSON `endpoints` array, worst first.
std::string endpoints_json(const EndpointTable& t) {
    std::string o = "  \"endpoints\": [";
    bool first = true;
    for (const EndpointStats* e : t.ranked()) {
        o += first ? "\n" : ",\n";
        first = false;
        o += "    {\"name\": " + json_string(e->name) + ", \"requests\": " + num(e->requests) +
             ", \"status_mismatch\": " + num(e->status_mismatch) +
             ", \"body_compared\": " + num(e->body_compared) +
             ", \"body_mismatch\": " + num(e->body_mismatch) +
             ", \"body_noise\": " + num(e->body_noise) +
             ", \"header_compared\": " + num(e->head_compared) +
             ", \"header_mismatch\": " + num(e->head_mismatch) +
             ", \"header_noise\": " + num(e->head_noise) +
             ", \"p50_change\": " + fixed(e->p50_change(), 3) +
             ",\n     \"latency_recorded_us\": " + e->recorded_first_us.to_json() +
             ",\n     \"latency_replayed_us\": " + e->replayed_first_us.to_json() +
             ",\n     \"latency_last_byte_recorded_us\": " + e->recorded_last_us.to_json() +
             ",\n     \"latency_last_byte_replayed_us\": " + e->replayed_last_us.to_json() + "}";
    }
    return o + (first ? "],\n" : "\n  ],\n");
}

std::string strings_json(const std::vector<std::string>& v) {
    std::string o = "[";
    for (size_t i = 0; i < v.size(); ++i) {
        o += (i == 0 ? "" : ", ") + json_string(v[i]);
    }
    return o + "]";
}

// One example of each kind of difference per endpoint (the HTML report shows them side by side).
std::string examples_json(const std::vector<DifferenceExample>& examples) {
    std::string o = "  \"difference_examples\": [";
    for (size_t i = 0; i < examples.size(); ++i) {
        const DifferenceExample& e = examples[i];
        o += (i == 0 ? "\n" : ",\n");
        o += "    {\"kind\": " + json_string(e.kind) +
             ", \"endpoint\": " + json_string(e.endpoint) +
             ", \"client\": " + json_string(e.client) + ", \"session\": " + num(e.session) +
             ", \"request\": " + num(e.request) +
             ",\n     \"request_head\": " + json_string(e.request_head) +
             ",\n     \"recorded\": " + json_string(e.recorded) +
             ",\n     \"replayed\": " + json_string(e.replayed) + "}";
    }
    return o + (examples.empty() ? "],\n" : "\n  ],\n");
}

// What was treated as noise (docs/replay.md, "The comparison per endpoint").
std::string noise_json(const RunSummary& s) {
    uint64_t bodies = 0, heads = 0;
    for (const EndpointStats& e : s.counters.endpoints.all()) {
        bodies += e.body_noise;
        heads += e.head_noise;
    }
    std::string copies = "{";
    bool first = true;
    for (const auto& [name, n] : s.counters.endpoints.noisy_headers()) {
        copies += (first ? "" : ", ") + json_string(name) + ": " + num(n);
        first = false;
    }
    return "  \"noise\": {\"ignored_headers\": " + strings_json(s.ignored_headers) +
           ",\n            \"ignore_body\": " + strings_json(s.ignore_body) +
           ", \"ignore_json\": " + strings_json(s.ignore_json) +
           ",\n            \"bodies_set_aside\": " + num(bodies) +
           ", \"heads_set_aside\": " + num(heads) +
           ", \"headers_differing_between_copies\": " + copies + "}},\n";
}

}  // namespace

std::string format_summary(const RunSummary& s) {
    const ReplayCounters& c = s.counters;
    std::string o =
        run_lines(s) + session_lines(s) + answer_lines(s) + transport_lines(s) + input_lines(s);
    o += "  failed sessions: " + fixed(failed_percent(c), 2) + "% (threshold " +
         fixed(s.max_failed_percent, 2) + "%): " + (failed_beyond(s) ? "FAILED" : "ok") + "\n";
    o += endpoint_lines(s);
    return o;
}

std::string format_json(const RunSummary& s) {
    const ReplayCounters& c = s.counters;
    const BuildStats& b = s.build;
    std::string o = "{\n";
    auto field = [&](const char* name, const std::string& value, bool last = false) {
        o += "  " + json_string(name) + ": " + value + (last ? "\n" : ",\n");
    };
    field("input", json_string(s.input));
    field("format", json_string(s.format));
    field("target", json_string(s.target));
    field("transport", json_string(s.transport));
    field("intercept", json_string(s.intercept));
    field("speed", json_string(format_speed(s.speed_milli)));
    field("copies", num(s.copies));
    field("loops", num(s.loops));
    field("shard", "{\"index\": " + num(s.shard) + ", \"count\": " + num(s.shards) + "}");
    field("wall_ns", num(s.wall_ns));
    field("recorded_ns", num(s.recorded_ns));
    field("stop_reason", json_string(s.stop_reason));
    if (!s.merged_from.empty()) {
        field("merged_reports", num(s.merged_from.size()));
        field("merged_from", strings_json(s.merged_from));
    }
    o += "  \"sessions\": {\"planned\": " + num(c.sessions_planned) +
         ", \"started\": " + num(c.sessions_started) +
         ", \"completed\": " + num(c.sessions_completed) +
         ", \"reset_by_target\": " + num(c.sessions_reset) +
         ", \"timed_out\": " + num(c.sessions_timed_out) +
         ", \"timed_out_intercept_down\": " + num(c.timed_out_intercept_down) +
         ", \"aborted\": " + num(c.sessions_aborted) +
         ", \"refused_tuple_held\": " + num(c.sessions_refused_tuple_held) +
         ", \"closed_early\": " + num(c.closed_early) +
         ", \"closed_unanswered\": " + num(c.sessions_unanswered) +
         ", \"closed_with_reset\": " + num(c.closed_with_reset) +
         ", \"endpoint_waits\": " + num(c.endpoint_waits) + "},\n";
    o += "  \"requests\": {\"sent\": " + num(c.requests_sent) +
         ", \"not_sent\": " + num(c.requests_unsent) +
         ", \"unanswered\": " + num(c.requests_unanswered) + "},\n";
    o += "  \"responses\": {\"seen\": " + num(c.responses_seen) +
         ", \"complete\": " + num(c.responses_complete) +
         ", \"ended_by_silence\": " + num(c.responses_quiet) +
         ", \"bytes\": " + num(c.response_bytes) +
         ", \"bytes_not_reported\": " + num(c.response_bytes_unseen) + "},\n";
    o += "  \"status_lines\": {\"match\": " + num(c.status_match) +
         ", \"mismatch\": " + num(c.status_mismatch) +
         ", \"not_comparable\": " + num(c.status_unknown) + ", \"examples\": [";
    for (size_t i = 0; i < c.mismatch_examples.size(); ++i) {
        const auto& m = c.mismatch_examples[i];
        o += std::string(i ? ", " : "") + "{\"client\": " + json_string(m.client) +
             ", \"session\": " + num(m.session) + ", \"request\": " + num(m.request) +
             ", \"expected\": " + json_string(m.expected) + ", \"got\": " + json_string(m.got) +
             "}";
    }
    o += "]},\n";
    o += "  \"packets\": {\"sent\": " + num(c.packets_sent) + ", \"bytes\": " + num(c.bytes_sent) +
         ", \"payload_bytes\": " + num(c.payload_bytes_sent) +
         ", \"retransmissions\": " + num(c.retransmissions) +
         ", \"retransmissions_spurious\": " + num(c.retransmissions_spurious) +
         ", \"syn_retransmissions\": " + num(c.syn_retransmissions) +
         ", \"syn_tuple_in_use\": " + num(c.syn_tuple_in_use) +
         ", \"dropped_queue_full\": " + num(c.send_would_block) +
         ", \"failed\": " + num(c.send_failed) + ", \"refused\": " + num(c.send_refused) + "},\n";
    o += "  \"intercept_link\": {\"reports\": " + num(c.reports) +
         ", \"unmatched\": " + num(c.reports_unmatched) +
         ", \"disconnects\": " + num(c.intercept_disconnects) +
         ", \"reconnects\": " + num(c.intercept_reconnects) + "},\n";
    const LatenessHistogram& late = c.start_lateness;
    o += "  \"start_lateness_us\": {\"count\": " + num(late.count()) +
         ", \"early\": " + num(late.early()) +
         ", \"mean\": " + fixed(static_cast<double>(late.mean_ns()) / 1e3, 1) +
         ", \"p50\": " + fixed(static_cast<double>(late.percentile_ns(0.5)) / 1e3, 1) +
         ", \"p90\": " + fixed(static_cast<double>(late.percentile_ns(0.9)) / 1e3, 1) +
         ", \"p99\": " + fixed(static_cast<double>(late.percentile_ns(0.99)) / 1e3, 1) +
         ", \"p999\": " + fixed(static_cast<double>(late.percentile_ns(0.999)) / 1e3, 1) +
         ", \"max\": " + fixed(static_cast<double>(late.max_ns()) / 1e3, 1) +
         ", \"max_ns\": " + num(late.max_ns()) + ", \"sum_ns\": " + num(late.sum_ns()) +
         ", \"buckets\": [";
    bool first_bucket = true;
    for (const auto& [bucket, n] : late.buckets()) {
        o += (first_bucket ? "[" : ", [") + std::to_string(bucket) + ", " + num(n) + "]";
        first_bucket = false;
    }
    o += "]},\n";
    o += "  \"input_stats\": {\"frames\": " + num(b.records) +
         ", \"skipped_frames\": " + num(b.skipped.total()) +
         ", \"connections\": " + num(b.connections) +
         ", \"sessions\": " + num(s.sessions_in_recording) +
         ", \"mid_session\": " + num(b.mid_session) + ", \"requests\": " + num(b.requests) +
         ", \"other_port\": " + num(b.other_port) + ", \"not_selected\": " + num(b.not_selected) +
         ", \"other_shard\": " + num(b.other_shard) + ", \"without_data\": " + num(b.without_data) +
         ", \"mid_session_no_boundary\": " + num(b.mid_session_no_boundary) +
         ", \"mid_session_skipped_bytes\": " + num(b.mid_session_skipped_bytes) +
         ", \"mid_session_skipped_answers\": " + num(b.mid_session_skipped_answers) +
         ", \"other_ip_version\": " + num(s.sessions_skipped_family) +
         ", \"missing_client_bytes\": " + num(b.missing_bytes) +
         ", \"damaged_frames\": " + num(s.frames_damaged) +
         ",\n                  \"skipped_by_reason\": {";
    bool first_reason = true;
    for (int r = 0; r < net::kSkipReasonCount; ++r) {
        if (b.skipped.by_reason[static_cast<size_t>(r)] > 0) {
            o += std::string(first_reason ? "" : ", ") +
                 json_string(net::to_string(static_cast<net::SkipReason>(r))) + ": " +
                 num(b.skipped.by_reason[static_cast<size_t>(r)]);
            first_reason = false;
        }
    }
    o += "}, \"damage\": " + strings_json(s.damage) + "},\n";
    o += "  \"socket\": {\"connection_errors\": " + num(c.sessions_conn_error) +
         ", \"connect_refused\": " + num(c.connect_refused) +
         ", \"connect_timed_out\": " + num(c.connect_timed_out) +
         ", \"length_equal\": " + num(c.length_equal) +
         ", \"length_longer\": " + num(c.length_longer) +
         ", \"length_shorter\": " + num(c.length_shorter) +
         ", \"responses_differ\": " + num(c.responses_differ) +
         ", \"diff_file\": " + json_string(s.diff_file) + "},\n";
    o += endpoints_json(c.endpoints);
    o += noise_json(s);
    o += examples_json(c.difference_examples);
    field("failed_percent", fixed(failed_percent(c), 3));
    field("max_failed_percent", fixed(s.max_failed_percent, 3));
    field("failed", failed_beyond(s) ? "true" : "false", true);
    o += "}\n";
    return o;
}

}  // namespace tcpr::replay
