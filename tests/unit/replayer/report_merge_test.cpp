// Shard reports merged (--merge-reports): a report parsed back is the report it was written
// from; shards of one synthetic run, each formatted, parsed and merged, give the report of the
// whole run (counts, histograms, percentiles, endpoint ranking); merging merged reports again
// gives the merge of all; what is not a report is refused with one line naming the file.
#include "replayer/report/report_merge.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/base/error.h"
#include "replayer/report/html_report.h"

namespace tcpr::replay {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Every counter of the JSON report, each event adds to each.
constexpr uint64_t ReplayCounters::*kCounters[] = {
    &ReplayCounters::sessions_planned,
    &ReplayCounters::sessions_started,
    &ReplayCounters::sessions_completed,
    &ReplayCounters::sessions_reset,
    &ReplayCounters::sessions_timed_out,
    &ReplayCounters::sessions_aborted,
    &ReplayCounters::sessions_refused_tuple_held,
    &ReplayCounters::timed_out_intercept_down,
    &ReplayCounters::closed_early,
    &ReplayCounters::sessions_unanswered,
    &ReplayCounters::closed_with_reset,
    &ReplayCounters::endpoint_waits,
    &ReplayCounters::requests_sent,
    &ReplayCounters::requests_unsent,
    &ReplayCounters::responses_seen,
    &ReplayCounters::requests_unanswered,
    &ReplayCounters::responses_complete,
    &ReplayCounters::responses_quiet,
    &ReplayCounters::response_bytes,
    &ReplayCounters::response_bytes_unseen,
    &ReplayCounters::status_match,
    &ReplayCounters::status_mismatch,
    &ReplayCounters::status_unknown,
    &ReplayCounters::packets_sent,
    &ReplayCounters::bytes_sent,
    &ReplayCounters::payload_bytes_sent,
    &ReplayCounters::retransmissions,
    &ReplayCounters::retransmissions_spurious,
    &ReplayCounters::syn_retransmissions,
    &ReplayCounters::syn_tuple_in_use,
    &ReplayCounters::send_would_block,
    &ReplayCounters::send_refused,
    &ReplayCounters::send_failed,
    &ReplayCounters::reports,
    &ReplayCounters::reports_unmatched,
    &ReplayCounters::intercept_reconnects,
    &ReplayCounters::intercept_disconnects,
    &ReplayCounters::sessions_conn_error,
    &ReplayCounters::connect_refused,
    &ReplayCounters::connect_timed_out,
    &ReplayCounters::length_equal,
    &ReplayCounters::length_longer,
    &ReplayCounters::length_shorter,
    &ReplayCounters::responses_differ,
};

// One replayed session with one answer: what it adds to a run's report.
struct Event {
    int endpoint = 0;
    bool status_mismatch = false;
    uint32_t recorded_first = 0, recorded_last = 0;  // kNoLatency: not recorded
    uint32_t replayed_first = 0, replayed_last = 0;  // kNoLatency: not measured
    uint64_t body_mismatch = 0, body_noise = 0, head_mismatch = 0, head_noise = 0;
    bool noisy_header = false;
    uint64_t late_ns = 0;
    uint64_t add = 0;  // to every counter (+ its index, mod 5)
    bool mid_session = false;
};

std::vector<Event> events(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    auto latency = [&](double median) {
        std::lognormal_distribution<double> d(std::log(median), 1.2);
        return static_cast<uint32_t>(std::min(d(rng), 5e7));
    };
    std::vector<Event> out;
    for (size_t i = 0; i < n; ++i) {
        Event e;
        e.endpoint = static_cast<int>(rng() % 13);
        e.status_mismatch = rng() % 17 == 0;
        const double median = 200.0 * (1 + e.endpoint);
        e.recorded_first = rng() % 11 == 0 ? kNoLatency : latency(median);
        e.recorded_last = e.recorded_first == kNoLatency ? 0 : e.recorded_first + latency(50);
        e.replayed_first = rng() % 13 == 0 ? kNoLatency : latency(median * 1.3);
        e.replayed_last =
            e.replayed_first == kNoLatency ? kNoLatency : e.replayed_first + latency(60);
        e.body_mismatch = rng() % 9 == 0;
        e.body_noise = e.body_mismatch ? 0 : rng() % 15 == 0;
        e.head_mismatch = rng() % 7 == 0;
        e.head_noise = e.head_mismatch ? 0 : rng() % 19 == 0;
        e.noisy_header = rng() % 5 == 0;
        e.late_ns = rng() % 3 == 0 ? rng() % 20 : latency(30'000);
        e.add = rng() % 4;
        e.mid_session = rng() % 6 == 0;
        out.push_back(e);
    }
    return out;
}

// The report's settings and the input file's facts, the same for every shard.
RunSummary run_of(uint64_t wall_ns) {
    RunSummary s;
    s.input = "mon.pcap.zst";
    s.format = "archive";
    s.target = "10.0.0.2:80";
    s.intercept = "10.0.0.3:36524";
    s.transport = "raw (IP_HDRINCL socket)";
    s.speed_milli = 2000;
    s.copies = 2;
    s.wall_ns = wall_ns;
    s.recorded_ns = 60'000'000'000;
    s.build.records = 50'000;
    s.build.connections = 10'000;
    s.build.other_port = 300;
    s.build.skipped.by_reason[static_cast<size_t>(net::SkipReason::NotTcp)] = 12;
    s.build.skipped.by_reason[static_cast<size_t>(net::SkipReason::Truncated)] = 3;
    s.frames_damaged = 1;
    s.damage = {"frame 7 at offset 1234: checksum mismatch"};
    s.ignored_headers = {"date", "server"};
    s.ignore_body = {"\"ts\":[0-9]+"};
    s.max_failed_percent = 5;
    return s;
}

void apply(RunSummary& s, const Event& e) {
    ReplayCounters& c = s.counters;
    for (size_t i = 0; i < std::size(kCounters); ++i) {
        c.*kCounters[i] += (e.add + i) % 5;
    }
    EndpointTable& t = c.endpoints;
    const uint32_t id = t.id_of(bytes("GET /e" + std::to_string(e.endpoint) + " HTTP/1.1\r\n\r\n"));
    RecordedRequest r;
    r.answer_first_us = e.recorded_first;
    r.answer_last_us = e.recorded_last;
    t.record(id, r, e.status_mismatch, e.replayed_first, e.replayed_last);
    t.body_verdict(id, 1, e.body_mismatch, e.body_noise);
    t.head_verdict(id, 1, e.head_mismatch, e.head_noise);
    if (e.noisy_header) {
        t.noisy_header(e.endpoint % 2 ? "x-request-id" : "etag");
    }
    if (e.add == 3) {
        c.start_lateness.record(1'000'000 + e.late_ns, 1'000'000);  // early
    } else {
        c.start_lateness.record(1'000'000, 1'000'000 + e.late_ns);
    }
    s.sessions_in_recording += 1;
    s.build.requests += 1;
    s.build.mid_session += e.mid_session ? 1 : 0;
    s.build.mid_session_skipped_bytes += e.mid_session ? 100 : 0;
    s.build.missing_bytes += e.add;
}

// Connections of the file left out: those the shard's sessions did not take.
void finish(RunSummary& s) {
    s.build.not_selected = s.build.connections - s.build.other_port - s.sessions_in_recording;
}

// The shards' reports written, read back and merged.
RunSummary merged_from_json(const std::vector<RunSummary>& shards) {
    std::vector<ShardReport> parsed;
    for (size_t i = 0; i < shards.size(); ++i) {
        const std::string name = "shard" + std::to_string(i) + ".json";
        parsed.push_back({name, parse_json_report(format_json(shards[i]), name)});
    }
    const MergedReport m = merge_summaries(parsed);
    CHECK(m.warnings.empty());
    return m.summary;
}

// A realistic run: endpoints with histograms, every counter, examples, noise, damage.
RunSummary realistic(uint32_t seed, size_t n = 300) {
    RunSummary s = run_of(9'000'000'000);
    for (const Event& e : events(n, seed)) {
        apply(s, e);
    }
    finish(s);
    s.stop_reason = "signal";
    s.diff_file = "";
    s.counters.mismatch_examples.push_back(
        {"10.0.0.1:7919", 4, 1, "HTTP/1.1 200 OK", "HTTP/1.1 \"500\" Error"});
    s.counters.difference_examples.push_back({"body", "GET /e3", "10.0.0.1:7920", 5, 0,
                                              "GET /e3 HTTP/1.1\r\n", "HTTP/1.1 200 OK\r\n\r\n{}",
                                              "HTTP/1.1 200 OK\r\n\r\n{\"a\":\x01}"});
    s.counters.difference_examples.push_back({"headers", "GET /e4", "10.0.0.1:7921", 6, 2,
                                              "GET /e4 HTTP/1.1\r\n", "HTTP/1.1 200 OK\r\nA: 1",
                                              "HTTP/1.1 200 OK\r\nA: 2"});
    return s;
}

}  // namespace

TEST_CASE("a report parsed back is written again byte for byte", "[replay][report][merge]") {
    const RunSummary s = realistic(7);
    const std::string json = format_json(s);
    const RunSummary back = parse_json_report(json, "r.json");
    CHECK(format_json(back) == json);
    CHECK(format_summary(back) == format_summary(s));
    REQUIRE(back.counters.endpoints.all().size() == s.counters.endpoints.all().size());
    for (const EndpointStats& e : s.counters.endpoints.all()) {
        const auto& all = back.counters.endpoints.all();
        const auto it = std::find_if(all.begin(), all.end(),
                                     [&](const EndpointStats& b) { return b.name == e.name; });
        REQUIRE(it != all.end());
        CHECK(it->recorded_first_us == e.recorded_first_us);
        CHECK(it->replayed_last_us == e.replayed_last_us);
    }
    CHECK(back.counters.start_lateness == s.counters.start_lateness);
    CHECK(back.mode == TransportMode::Raw);
    // A merged report keeps its list of inputs through a round trip too.
    RunSummary merged = s;
    merged.merged_from = {"a.json", "b.json"};
    const std::string mj = format_json(merged);
    CHECK_THAT(mj, Catch::Contains("\"merged_reports\": 2,\n  \"merged_from\": [\"a.json\", "
                                   "\"b.json\"]"));
    CHECK(format_json(parse_json_report(mj, "m.json")) == mj);
    // An empty run too.
    RunSummary empty;
    empty.transport = "socket (one TCP connection per session)";
    const RunSummary e = parse_json_report(format_json(empty), "e.json");
    CHECK(format_json(e) == format_json(empty));
    CHECK(e.mode == TransportMode::Socket);
}

TEST_CASE("shards of one run merge into the report of the whole run", "[replay][report][merge]") {
    const size_t parts = GENERATE(1, 2, 3);
    CAPTURE(parts);
    const std::vector<Event> all = events(2000, 42);
    std::mt19937 split(1234 + static_cast<uint32_t>(parts));
    std::vector<uint64_t> walls{7'000'000'000, 9'500'000'000, 8'000'000'000};
    std::vector<RunSummary> shards;
    for (size_t i = 0; i < parts; ++i) {
        shards.push_back(run_of(walls[i]));
    }
    RunSummary whole = run_of(*std::max_element(walls.begin(), walls.begin() + parts));
    for (const Event& e : all) {
        apply(whole, e);
        apply(shards[split() % parts], e);
    }
    finish(whole);
    for (RunSummary& s : shards) {
        finish(s);
    }

    RunSummary merged = merged_from_json(shards);
    REQUIRE(merged.merged_from.size() == parts);
    CHECK(merged.merged_from.front() == "shard0.json");
    merged.merged_from.clear();
    // Equal to the last byte: every count, every histogram bucket, every percentile, the order
    // of the endpoints and the file's facts.
    CHECK(format_json(merged) == format_json(whole));
    CHECK(format_summary(merged) == format_summary(whole));
    CHECK(merged.counters.requests_sent == whole.counters.requests_sent);
    CHECK(merged.build.not_selected == whole.build.not_selected);
    CHECK(merged.build.records == 50'000);
    const auto& me = merged.counters.endpoints.ranked();
    const auto& we = whole.counters.endpoints.ranked();
    REQUIRE(me.size() == we.size());
    for (size_t i = 0; i < me.size(); ++i) {
        CHECK(me[i]->name == we[i]->name);
        CHECK(me[i]->replayed_first_us == we[i]->replayed_first_us);
        CHECK(me[i]->replayed_first_us.percentile(0.99) ==
              we[i]->replayed_first_us.percentile(0.99));
    }
    CHECK(merged.counters.start_lateness == whole.counters.start_lateness);
}

TEST_CASE("the shards of --shard I/N: the file's connections once, each shard's own ones added",
          "[replay][report][merge][shard]") {
    // 10,000 connections: 300 to other ports and 900 left out by --sample, the rest selected;
    // every shard counts the connections of the others as other_shard.
    RunSummary whole = run_of(9'000'000'000);
    whole.build.not_selected = 900;
    const std::vector<uint64_t> own{3'000, 3'500, 3'500}, other_port{100, 120, 80},
        not_selected{300, 250, 350};
    std::vector<RunSummary> shards;
    for (uint32_t i = 0; i < 3; ++i) {
        RunSummary s = run_of(9'000'000'000);
        s.shard = i;
        s.shards = 3;
        s.build.other_shard = 10'000 - own[i];
        s.build.other_port = other_port[i];
        s.build.not_selected = not_selected[i];
        shards.push_back(s);
    }
    RunSummary merged = merged_from_json(shards);
    merged.merged_from.clear();
    CHECK(merged.shard == 0);
    CHECK(merged.shards == 1);
    CHECK(merged.build.other_shard == 0);
    CHECK(merged.build.connections == 10'000);
    CHECK(merged.build.other_port == 300);
    CHECK(merged.build.not_selected == 900);
    CHECK(format_json(merged) == format_json(whole));
    // Two of three shards: what the third had is still another shard's.
    shards.pop_back();
    merged = merged_from_json(shards);
    CHECK(merged.build.other_shard == 3'500);
    CHECK(merged.shards == 3);
}

TEST_CASE("merging merged reports again gives the merge of all", "[replay][report][merge]") {
    const RunSummary a = realistic(1, 200), b = realistic(2, 150), c = realistic(3, 250);
    auto shard = [](const std::string& name, const RunSummary& s) {
        return ShardReport{name, parse_json_report(format_json(s), name)};
    };
    const MergedReport abc =
        merge_summaries({shard("a.json", a), shard("b.json", b), shard("c.json", c)});
    const MergedReport ab = merge_summaries({shard("a.json", a), shard("b.json", b)});
    const MergedReport ab_c = merge_summaries({shard("ab.json", ab.summary), shard("c.json", c)});
    const MergedReport bc = merge_summaries({shard("b.json", b), shard("c.json", c)});
    const MergedReport a_bc = merge_summaries({shard("a.json", a), shard("bc.json", bc.summary)});
    const std::string expected = format_json(abc.summary);
    CHECK(format_json(ab_c.summary) == expected);
    CHECK(format_json(a_bc.summary) == expected);
    CHECK_THAT(expected, Catch::Contains("\"merged_reports\": 3,\n  \"merged_from\": [\"a.json\", "
                                         "\"b.json\", \"c.json\"]"));
    // What adds, what is the longest, what is kept once.
    const ReplayCounters& m = abc.summary.counters;
    CHECK(m.requests_sent ==
          a.counters.requests_sent + b.counters.requests_sent + c.counters.requests_sent);
    CHECK(abc.summary.wall_ns == 9'000'000'000);
    CHECK(m.mismatch_examples.size() == 3);
    // One difference example per kind and endpoint, as a run keeps them.
    CHECK(m.difference_examples.size() == 2);
    CHECK(abc.summary.damage.size() == 1);
    CHECK(abc.summary.build.records == 50'000);
    CHECK(abc.summary.stop_reason == "signal");
}

TEST_CASE("merged examples stop at a run's caps", "[replay][report][merge]") {
    std::vector<ShardReport> shards;
    for (int i = 0; i < 4; ++i) {
        RunSummary s = run_of(1);
        for (int k = 0; k < 4; ++k) {
            s.counters.mismatch_examples.push_back({"c" + std::to_string(i), 1,
                                                    static_cast<uint32_t>(k), "HTTP/1.1 200 OK",
                                                    "HTTP/1.1 500 Oops"});
        }
        for (int k = 0; k < 20; ++k) {
            s.counters.difference_examples.push_back(
                {"body", "GET /" + std::to_string(i * 20 + k), "c", 1, 0, "", "a", "b"});
        }
        shards.push_back({"s" + std::to_string(i), s});
    }
    const MergedReport m = merge_summaries(shards);
    CHECK(m.summary.counters.mismatch_examples.size() == ReplayCounters::kMaxExamples);
    CHECK(m.summary.counters.mismatch_examples.back().client == "c1");
    CHECK(m.summary.counters.difference_examples.size() == kMaxDifferenceExamples);
}

TEST_CASE("shards of different runs merge with a warning naming the difference",
          "[replay][report][merge]") {
    RunSummary a = run_of(1), b = run_of(2);
    a.counters.requests_sent = 3;
    b.counters.requests_sent = 4;
    b.target = "10.0.0.9:80";
    b.input = "tue.pcap.zst";
    const MergedReport m = merge_summaries({{"a.json", a}, {"b.json", b}});
    REQUIRE(m.warnings.size() == 2);
    CHECK(m.warnings[0] ==
          "'b.json' is of another run than 'a.json': input 'tue.pcap.zst', not 'mon.pcap.zst' "
          "(merged all the same)");
    CHECK(m.warnings[1] ==
          "'b.json' is of another run than 'a.json': target '10.0.0.9:80', not '10.0.0.2:80' "
          "(merged all the same)");
    CHECK(m.summary.counters.requests_sent == 7);
    CHECK(m.summary.input == "mon.pcap.zst, tue.pcap.zst");
    // Different files: their facts add.
    CHECK(m.summary.build.records == 100'000);
    CHECK(m.summary.frames_damaged == 2);
}

TEST_CASE("what is not a tcpreplay2 JSON report is refused with one line naming the file",
          "[replay][report][merge]") {
    struct Case {
        std::string text;
        std::string error;
    };
    const std::string good = format_json(realistic(5, 20));
    auto replaced = [&](const std::string& what, const std::string& by) {
        std::string t = good;
        const auto at = t.find(what);
        REQUIRE(at != std::string::npos);
        return t.replace(at, what.size(), by);
    };
    const std::string prefix = "'x.json' is not a tcpreplay2 JSON report: ";
    const std::vector<Case> cases{
        {"", prefix + "the file is empty"},
        {"{\"input\": ", prefix + "invalid JSON at byte 11"},
        {"[1, 2]", prefix + "it is not a JSON object"},
        {"{\"name\": \"x\"}", prefix + "input is missing"},
        {replaced("\"wall_ns\"", "\"wall\""), prefix + "wall_ns is missing"},
        {replaced("\"started\": ", "\"begun\": "), prefix + "sessions.started is missing"},
        {replaced("\"copies\": 2", "\"copies\": -2"),
         prefix + "copies is not a count (an integer >= 0)"},
        {replaced("\"speed\": \"2x\"", "\"speed\": \"fast\""),
         prefix + "speed 'fast' is not a speed such as 2x or max"},
        {replaced("\"buckets\": [[", "\"buckets\": [[999, 1], ["),
         prefix + "start_lateness_us: its count, buckets and max disagree"},
        {replaced("\"sum\": ", "\"total\": "),
         prefix + "endpoints[0].latency_recorded_us.sum is missing"},
        {replaced("\"skipped_frames\": 15", "\"skipped_frames\": 16"),
         prefix + "input_stats.skipped_frames is not the sum of skipped_by_reason"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text.substr(0, 300));
        try {
            parse_json_report(c.text, "x.json");
            FAIL("parsed");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::Corrupt);
            CHECK(std::string(e.what()) == c.error);
        }
    }
    // A live passthrough report.
    const std::string live = good.substr(0, good.rfind("\n}")) + ",\n  \"live\": {}\n}\n";
    try {
        parse_json_report(live, "live.json");
        FAIL("parsed");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Unsupported);
        CHECK(std::string(e.what()) ==
              "'live.json' is a live passthrough report: only archive replay reports merge");
    }
}

TEST_CASE("the html report of merged shards shows the merged endpoints and counts",
          "[replay][report][merge][html]") {
    const RunSummary a = realistic(11, 100), b = realistic(12, 120);
    const MergedReport m =
        merge_summaries({{"a.json", parse_json_report(format_json(a), "a.json")},
                         {"b.json", parse_json_report(format_json(b), "b.json")}});
    const std::string html = format_html(m.summary);
    const uint64_t sent = a.counters.requests_sent + b.counters.requests_sent;
    CHECK_THAT(html,
               Catch::Contains("id=\"requests\">Requests sent<b>" + std::to_string(sent) + "</b>"));
    for (const EndpointStats& e : m.summary.counters.endpoints.all()) {
        CHECK_THAT(html, Catch::Contains("data-name=\"" + e.name + "\""));
        CHECK_THAT(html, Catch::Contains("data-requests=\"" + std::to_string(e.requests) + "\""));
    }
    CHECK_THAT(html, Catch::Contains("merged from 2 shard reports: a.json b.json"));
}

}  // namespace tcpr::replay
