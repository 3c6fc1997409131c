#include "replayer/report/metrics.h"

#include <string>

#include <catch2/catch.hpp>

#include "support/prom_text.h"

using tcpr::LogHistogram;
using tcpr::replay::format_metrics;
using tcpr::replay::MetricsView;
using tcpr::replay::ReplayCounters;

TEST_CASE("the replayer's metrics are the report's counters in the text format", "[metrics]") {
    ReplayCounters c;
    c.sessions_started = 7;
    c.requests_sent = 12;
    c.status_match = 3;
    c.status_mismatch = 1;
    c.send_refused = 0;
    c.reports = 40;
    c.start_lateness.record(1'000'000, 1'000'500);  // 500 ns late
    MetricsView v;
    v.counters = &c;
    v.active = 2;
    v.copies = 2;
    const std::string text = format_metrics(v);
    const auto t = tcpr::test::parse_prom_text(text);
    INFO(text);
    REQUIRE(t.errors.empty());
    CHECK(t.value("tcpreplay2_sessions_started_total") == 7);
    CHECK(t.value("tcpreplay2_requests_sent_total") == 12);
    CHECK(t.value("tcpreplay2_sessions_active") == 2);
    CHECK(t.value("tcpreplay2_status_comparisons_total", {{"result", "mismatch"}}) == 1);
    CHECK(t.value("tcpreplay2_intercept_reports_total") == 40);
    CHECK(t.value("tcpreplay2_start_lateness_seconds_bucket", {{"le", "0.0001"}}) == 1);
    CHECK(t.value("tcpreplay2_start_lateness_seconds_count") == 1);
    CHECK(t.types.count("tcpreplay2_response_first_byte_seconds") == 1);
    // Archive replay: no live families.
    CHECK_FALSE(t.has("tcpreplay2_live_buffered_bytes"));
    // Every family has help text.
    for (const auto& [name, type] : t.types) {
        CAPTURE(name);
        CHECK_FALSE(t.help.at(name).empty());
    }
}

TEST_CASE("live metrics add the capture's families; before the run all are zero", "[metrics]") {
    tcpr::replay::LiveStats l;
    l.connections = 4;
    l.sessions = 3;
    l.dropped_buffer = 1;
    l.status_match = 2;
    MetricsView v;  // no counters yet
    v.live = &l;
    v.buffered_bytes = 4096;
    v.capture_drops = 5;
    const auto t = tcpr::test::parse_prom_text(format_metrics(v));
    REQUIRE(t.errors.empty());
    CHECK(t.value("tcpreplay2_requests_sent_total") == 0);
    CHECK(t.value("tcpreplay2_live_connections_total") == 4);
    CHECK(t.value("tcpreplay2_live_dropped_total", {{"reason", "buffer_full"}}) == 1);
    CHECK(t.value("tcpreplay2_live_buffered_bytes") == 4096);
    CHECK(t.value("tcpreplay2_live_capture_drops_total") == 5);
    CHECK(t.value("tcpreplay2_status_comparisons_total", {{"result", "match"}}) == 2);
}

TEST_CASE("latencies fall in the first fixed bound not below their log bucket", "[metrics]") {
    LogHistogram h;
    h.add(5);           // 5 us -> le 0.0001
    h.add(1500);        // 1.5 ms -> le 0.0025
    h.add(90'000'000);  // 90 s -> +Inf only
    const auto b = tcpr::replay::latency_buckets(h);
    REQUIRE(b.size() == std::size(tcpr::replay::kLatencyBounds));
    CHECK(b[0].count == 1);
    CHECK(b[4].upper_bound == 0.0025);
    CHECK(b[4].count == 1);
    uint64_t total = 0;
    for (const auto& x : b) {
        total += x.count;
    }
    CHECK(total == 2);
}
