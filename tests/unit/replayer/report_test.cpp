// The final report: summary lines, JSON, and the exit-code threshold.
#include "replayer/report/report.h"

#include <catch2/catch.hpp>

namespace tcpr::replay {

TEST_CASE("failed sessions beyond the threshold fail the run", "[replay][report]") {
    RunSummary s;
    s.counters.sessions_completed = 990;
    s.counters.sessions_reset = 6;
    s.counters.sessions_timed_out = 4;
    s.max_failed_percent = 1.0;
    CHECK(failed_percent(s.counters) == Approx(1.0));
    CHECK_FALSE(failed_beyond(s));  // exactly at the threshold is still ok
    s.counters.sessions_timed_out = 5;
    CHECK(failed_beyond(s));
    s.max_failed_percent = 5;
    CHECK_FALSE(failed_beyond(s));
    RunSummary none;
    CHECK(failed_percent(none.counters) == 0.0);
    CHECK_FALSE(failed_beyond(none));
    // Aborted sessions (Ctrl-C, --duration) are the user's choice, not failures.
    none.counters.sessions_aborted = 10;
    CHECK_FALSE(failed_beyond(none));
}

TEST_CASE("speed names", "[replay][report]") {
    CHECK(format_speed(1000) == "1x");
    CHECK(format_speed(2000) == "2x");
    CHECK(format_speed(500) == "0.5x");
    CHECK(format_speed(1250) == "1.25x");
    CHECK(format_speed(0) == "max");
}

TEST_CASE("summary and JSON carry the counts and mismatch examples", "[replay][report]") {
    RunSummary s;
    s.input = "mon.pcap.zst";
    s.format = "archive";
    s.target = "10.0.0.2:80";
    s.intercept = "10.0.0.3:36524";
    s.transport = "raw";
    s.copies = 3;
    s.speed_milli = 2000;
    s.wall_ns = 5'000'000'000;
    s.recorded_ns = 10'000'000'000;
    s.counters.sessions_planned = 30;
    s.counters.sessions_started = 30;
    s.counters.sessions_completed = 29;
    s.counters.sessions_reset = 1;
    s.counters.requests_sent = 51;
    s.counters.status_match = 50;
    s.counters.status_mismatch = 1;
    s.counters.mismatch_examples.push_back(
        {"10.0.0.1:7919", 4, 1, "HTTP/1.1 200 OK", "HTTP/1.1 \"500\" Error"});
    for (int i = 0; i < 29; ++i) {
        s.counters.start_lateness.record(1'000'000,
                                         1'040'000);  // 40 us (reported: bucket bound 41)
    }
    s.counters.start_lateness.record(1'000'000, 3'000'000);  // 2 ms late
    const std::string text = format_summary(s);
    CHECK_THAT(text, Catch::Contains("29 completed, 1 reset by target, 0 timed out"));
    CHECK_THAT(text, Catch::Contains(
                         "session starts vs schedule: 30 started late by 41 us at p50, 2000 us "
                         "at p99, 2000 us at most"));
    CHECK_THAT(text, Catch::Contains("status lines: 50 of 51 match the recording"));
    CHECK_THAT(text, Catch::Contains("10.0.0.1:7919 request 2: recorded 'HTTP/1.1 200 OK'"));
    CHECK_THAT(text, Catch::Contains("achieved 2.00x"));
    CHECK_THAT(text, Catch::Contains("failed sessions: 3.33% (threshold 1.00%): FAILED"));
    const std::string json = format_json(s);
    CHECK_THAT(json, Catch::Contains("\"completed\": 29"));
    CHECK_THAT(json, Catch::Contains("\"reset_by_target\": 1"));
    CHECK_THAT(json, Catch::Contains("\"got\": \"HTTP/1.1 \\\"500\\\" Error\""));
    CHECK_THAT(json, Catch::Contains("\"speed\": \"2x\""));
    CHECK_THAT(json, Catch::Contains("\"failed\": true"));
    CHECK_THAT(json, Catch::Contains("\"start_lateness_us\": {\"count\": 30, \"early\": 0"));
    CHECK_THAT(json, Catch::Contains("\"p50\": 41.0, \"p90\": 41.0, \"p99\": 2000.0"));
    CHECK(json.front() == '{');
    CHECK(json.substr(json.size() - 2) == "}\n");
}

}  // namespace tcpr::replay
