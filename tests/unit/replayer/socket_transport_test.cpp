// SocketTransport + run loop against a line server of the test's own on 127.0.0.1 (port 0):
// requests paced by answers and think times, copies, response comparison and the --diff file,
// a target that closes early, resets, never answers, refuses, or never accepts. Every case
// bounds its run with --timeout and checks that the run ends. No root, loopback only.
#include "replayer/transport/socket_transport.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "common/os/stream_socket.h"
#include "replayer/run/replay.h"
#include "support/line_server.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace tcpr::replay {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr uint64_t kMs = 1'000'000;

net::Endpoint ep(const char* addr, uint16_t port) {
    return net::Endpoint{*net::IpAddress::parse(addr), port};
}

struct LineSession {
    std::vector<std::string> requests;  // sent as they are (each ends with '\n')
    std::vector<std::string> answers;   // the recorded answers
    std::vector<uint64_t> thinks;       // recorded think time before each request (default 0)
    CloseKind close = CloseKind::Fin;
    uint64_t offset_ns = 0;  // recorded start after the first session's
};

// A recording of line sessions, as the builder would make it from a capture.
Recording make_recording(const std::vector<LineSession>& sessions) {
    Recording rec;
    rec.first_ns = 1'000'000'000;
    rec.last_ns = rec.first_ns;
    for (size_t i = 0; i < sessions.size(); ++i) {
        const LineSession& l = sessions[i];
        RecordedSession s;
        s.client = ep("10.0.0.1", static_cast<uint16_t>(40000 + i));
        s.server = ep("10.0.0.2", 80);
        s.start_ns = rec.first_ns + l.offset_ns;
        s.end_ns = s.start_ns + 10 * kMs;
        rec.last_ns = std::max(rec.last_ns, s.end_ns);
        s.has_syn = true;
        s.rtt_ns = 100'000;
        s.close = l.close;
        s.stream_off = rec.arena.size();
        s.first_request = static_cast<uint32_t>(rec.requests.size());
        uint32_t off = 0;
        for (size_t k = 0; k < l.requests.size(); ++k) {
            RecordedRequest r;
            r.begin = off;
            r.length = static_cast<uint32_t>(l.requests[k].size());
            r.response_len = static_cast<uint32_t>(l.answers.at(k).size());
            r.think_ns = k < l.thinks.size() ? l.thinks[k] : 0;
            const std::string& a = l.answers[k];
            const std::string line = first_line(
                std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(a.data()), a.size()));
            r.status_off = static_cast<uint32_t>(rec.text.size());
            r.status_len = static_cast<uint16_t>(line.size());
            rec.text += line;
            r.head_off = static_cast<uint32_t>(rec.text.size());
            r.head_len = static_cast<uint16_t>(std::min<size_t>(a.size(), 64));
            rec.text += a.substr(0, r.head_len);
            rec.arena.insert(rec.arena.end(), l.requests[k].begin(), l.requests[k].end());
            off += r.length;
            rec.requests.push_back(r);
        }
        s.stream_len = off;
        s.request_count = static_cast<uint32_t>(l.requests.size());
        rec.sessions.push_back(s);
    }
    return rec;
}

// The line server's default answer to `line`.
std::string ok(const std::string& line) { return "OK " + line.substr(0, line.size() - 1) + "\n"; }

LineSession three_requests() {
    LineSession l;
    l.requests = {"req0\n", "req1\n", "req2\n"};
    for (const auto& r : l.requests) {
        l.answers.push_back(ok(r));
    }
    return l;
}

struct RunOptions {
    uint32_t copies = 1;
    uint32_t loops = 1;
    uint32_t speed_milli = 1000;
    uint64_t timeout_ns = 3'000'000'000;
    DiffWriter* diff = nullptr;
    uint64_t settle_min_ns = SocketTransportOptions{}.settle_min_ns;
    std::optional<uint64_t> start_at{};  // --start-at (ns since the epoch)
};

struct Run {
    ReplayCounters counters;
    RunResult result;
    Clock::duration took{};
    uint64_t opened = 0;
};

Run replay(const Recording& rec, const net::Endpoint& target, const RunOptions& ro = {}) {
    (void)os::raise_open_file_limit();
    SocketTransportOptions so;
    so.target = target;
    so.speed_milli = ro.speed_milli;
    so.timeout_ns = ro.timeout_ns;
    so.settle_min_ns = ro.settle_min_ns;
    SocketTransport transport(rec, so, ro.diff);
    std::vector<uint64_t> offsets;
    for (const auto& s : rec.sessions) {
        offsets.push_back(s.start_ns - rec.first_ns);
    }
    Scheduler sched(offsets, rec.span_ns(), {ro.speed_milli, ro.copies, ro.loops, {}});
    RunLoopOptions lo;
    lo.progress = false;
    lo.start_at_realtime_ns = ro.start_at;
    Run r;
    const auto start = Clock::now();
    r.result = run_loop(rec, sched, transport, lo);
    r.took = Clock::now() - start;
    r.counters = transport.counters();
    r.counters.sessions_planned = sched.total();
    r.opened = transport.connections_opened();
    CHECK(transport.active() == 0);
    return r;
}

// Server events of one connection, by request index.
struct ConnTimes {
    std::map<size_t, Clock::time_point> request, answer;
};
std::map<size_t, ConnTimes> times_by_connection(const std::vector<test::LineServer::Event>& es) {
    std::map<size_t, ConnTimes> m;
    for (const auto& e : es) {
        (e.answer ? m[e.conn].answer : m[e.conn].request)[e.index] = e.at;
    }
    return m;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

TEST_CASE("each request waits for the answer to the previous one and the scaled think time",
          "[replay][socket]") {
    test::LineServerConfig cfg;
    cfg.answer_delay = 60ms;
    test::LineServer server(cfg);
    LineSession l = three_requests();
    l.thinks = {0, 0, 80 * kMs};  // 40 ms at 2x
    const Recording rec = make_recording({l});
    const Run r = replay(rec, server.address(), {.speed_milli = 2000});

    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_started == 1);
    CHECK(c.sessions_completed == 1);
    CHECK(c.requests_sent == 3);
    CHECK(c.requests_unsent == 0);
    CHECK(c.responses_seen == 3);
    CHECK(c.responses_complete == 3);
    CHECK(c.status_match == 3);
    CHECK(c.length_equal == 3);
    CHECK(c.responses_differ == 0);
    CHECK(c.response_bytes == 3 * 8);
    CHECK(c.payload_bytes_sent == 15);
    CHECK(r.result.stop_reason.empty());

    const auto t = times_by_connection(server.events());
    REQUIRE(t.size() == 1);
    const ConnTimes& ct = t.at(0);
    REQUIRE(ct.request.size() == 3);
    REQUIRE(ct.answer.size() == 3);
    // Request i+1 arrives only after answer i left the server (+ the think time).
    CHECK(ct.request.at(1) >= ct.answer.at(0));
    CHECK(ms_between(ct.request.at(0), ct.request.at(1)) >= 59.0);
    CHECK(ct.request.at(2) >= ct.answer.at(1));
    CHECK(ms_between(ct.answer.at(1), ct.request.at(2)) >= 39.0);
    // ... and not much later: nothing else slows it down.
    CHECK(ms_between(ct.answer.at(1), ct.request.at(2)) < 1000.0);
    CHECK(server.received() == std::vector<std::string>{"req0\nreq1\nreq2\n"});
}

TEST_CASE("a run given a start time (--start-at) starts its first session then, not before",
          "[replay][socket]") {
    test::LineServer server(test::LineServerConfig{});
    const Recording rec = make_recording({three_requests()});
    const auto wall_now =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
    const auto start = Clock::now();
    const Run r = replay(rec, server.address(), {.start_at = wall_now + 400 * kMs});
    CHECK(r.counters.sessions_completed == 1);
    const auto t = times_by_connection(server.events());
    REQUIRE(t.size() == 1);
    REQUIRE(!t.at(0).request.empty());
    CHECK(ms_between(start, t.at(0).request.at(0)) >= 395.0);
    // The run's wall time counts from the start, not from the wait.
    CHECK(r.result.wall_ns <
          static_cast<uint64_t>(std::chrono::nanoseconds(r.took).count()) - 300 * kMs);
}

TEST_CASE("at --speed max requests still wait for their answers, not for think times",
          "[replay][socket]") {
    test::LineServerConfig cfg;
    cfg.answer_delay = 30ms;
    test::LineServer server(cfg);
    LineSession l = three_requests();
    l.thinks = {5'000 * kMs, 5'000 * kMs, 5'000 * kMs};  // 5 s each, dropped at max
    const Recording rec = make_recording({l});
    const Run r = replay(rec, server.address(), {.speed_milli = 0});
    CHECK(r.counters.sessions_completed == 1);
    CHECK(r.counters.responses_complete == 3);
    CHECK(r.took < 2s);
    const auto t = times_by_connection(server.events());
    REQUIRE(t.size() == 1);
    REQUIRE(t.at(0).request.size() == 3);
    CHECK(t.at(0).request.at(1) >= t.at(0).answer.at(0));
    CHECK(t.at(0).request.at(2) >= t.at(0).answer.at(1));
}

TEST_CASE("copies and loops are separate connections, each with the whole client stream",
          "[replay][socket]") {
    test::LineServer server;
    LineSession a = three_requests();
    LineSession b;
    b.requests = {"other\n"};
    b.answers = {ok("other\n")};
    b.offset_ns = 20 * kMs;
    const Recording rec = make_recording({a, b});
    const Run r = replay(rec, server.address(), {.copies = 3, .loops = 2});

    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_planned == 12);
    CHECK(c.sessions_started == 12);
    CHECK(c.sessions_completed == 12);
    CHECK(c.requests_sent == 6 * 3 + 6 * 1);
    CHECK(c.status_match == 24);
    CHECK(c.length_equal == 24);
    CHECK(r.opened == 12);
    CHECK(server.connections() == 12);
    std::map<std::string, int> streams;
    for (const auto& s : server.received()) {
        ++streams[s];
    }
    CHECK(streams == std::map<std::string, int>{{"req0\nreq1\nreq2\n", 6}, {"other\n", 6}});
}

TEST_CASE("responses that differ from the recording are counted and written to the diff file",
          "[replay][socket]") {
    test::LineServerConfig cfg;
    cfg.answer = [](size_t, size_t index, const std::string& line) -> std::string {
        if (index == 1) {
            return "ERR changed\n";  // another first line, another length
        }
        if (index == 2) {
            return "OK " + line + "\nand a second line\n";  // same first line, longer
        }
        return "OK " + line + "\n";
    };
    test::LineServer server(cfg);
    const Recording rec = make_recording({three_requests()});
    test::TempDir dir;
    const std::string path = (dir / "diff.txt").string();
    {
        DiffWriter diff(path, "# test diff\n");
        const Run r = replay(rec, server.address(), {.diff = &diff});
        const ReplayCounters& c = r.counters;
        CHECK(c.sessions_completed == 1);
        CHECK(c.status_match == 2);
        CHECK(c.status_mismatch == 1);
        CHECK(c.length_equal == 1);
        CHECK(c.length_longer == 2);  // 12 and 26 bytes where 8 were recorded
        CHECK(c.length_shorter == 0);
        CHECK(c.responses_differ == 2);
        REQUIRE(c.mismatch_examples.size() == 1);
        CHECK(c.mismatch_examples[0].request == 1);
        CHECK(c.mismatch_examples[0].expected == "OK req1");
        CHECK(c.mismatch_examples[0].got == "ERR changed");
        CHECK(diff.entries() == 2);
        // Nothing under the final name until the run is over.
        CHECK_FALSE(std::filesystem::exists(path));
        diff.commit();
    }
    const std::string text = test::read_text(path);
    INFO(text);
    CHECK(text.rfind("# test diff\n", 0) == 0);
    CHECK(text.find("=== session 0 request 2/3, copy 0, loop 0: recorded client 10.0.0.1:40000, "
                    "replayed from 127.0.0.1:") != std::string::npos);
    CHECK(text.find("differs: status line; length 8 recorded, 12 replayed (+4)\n"
                    "request (5 bytes): \"req1\\n\"\n"
                    "recorded response (8 bytes): \"OK req1\\n\"\n"
                    "replayed response (12 bytes): \"ERR changed\\n\"\n") != std::string::npos);
    CHECK(text.find("=== session 0 request 3/3") != std::string::npos);
    CHECK(text.find("differs: length 8 recorded, 26 replayed (+18)\n") != std::string::npos);
    CHECK(text.find("=== session 0 request 1/3") == std::string::npos);
    CHECK(text.find("# 2 responses differ from the recording\n") != std::string::npos);
}

TEST_CASE("socket transport: a longer answer is read to its tail before the next request",
          "[replay][socket]") {
    // Each answer leaves in two writes: the recorded 8 bytes, then 5 more 20 ms later. The
    // settle period (100 ms here) keeps the next request back until the tail came, so the tail
    // is not taken for the next answer's first line.
    test::LineServerConfig cfg;
    cfg.tail = "more\n";
    cfg.tail_delay = 20ms;
    test::LineServer server(cfg);
    const Recording rec = make_recording({three_requests()});
    const Run r = replay(rec, server.address(), {.speed_milli = 0, .settle_min_ns = 100 * kMs});
    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_completed == 1);
    CHECK(c.responses_complete == 3);
    CHECK(c.status_match == 3);
    CHECK(c.status_mismatch == 0);
    CHECK(c.length_longer == 3);  // 13 bytes where 8 were recorded
    CHECK(c.response_bytes == 3 * 13);
    const auto t = times_by_connection(server.events());
    REQUIRE(t.size() == 1);
    REQUIRE(t.at(0).request.size() == 3);
    CHECK(ms_between(t.at(0).answer.at(0), t.at(0).request.at(1)) >= 20.0);
    CHECK(ms_between(t.at(0).answer.at(1), t.at(0).request.at(2)) >= 20.0);
}

TEST_CASE("an answer shorter than recorded is done after a quiet period", "[replay][socket]") {
    test::LineServerConfig cfg;
    cfg.answer = [](size_t, size_t, const std::string&) { return std::string("OK\n"); };
    test::LineServer server(cfg);
    LineSession l;
    l.requests = {"a\n", "b\n"};
    l.answers = {"OK and a much longer recorded answer\n", "OK\n"};
    const Recording rec = make_recording({l});
    const Run r = replay(rec, server.address());
    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_completed == 1);
    CHECK(c.responses_quiet == 1);
    CHECK(c.responses_complete == 1);
    CHECK(c.length_shorter == 1);
    CHECK(c.length_equal == 1);
    CHECK(c.status_mismatch == 1);
    CHECK(r.took < 1s);  // the quiet period is tens of milliseconds here, not --timeout
}

TEST_CASE("a target that closes early ends the session; the requests left are counted unsent",
          "[replay][socket]") {
    test::LineServerConfig cfg;
    cfg.close_after = 1;
    test::LineServer server(cfg);
    LineSession l = three_requests();
    l.thinks = {0, 50 * kMs, 0};  // the close arrives during the think time
    const Recording rec = make_recording({l});
    const Run r = replay(rec, server.address(), {.copies = 2});
    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_started == 2);
    CHECK(c.sessions_completed == 2);
    CHECK(c.sessions_failed() == 0);
    CHECK(c.closed_early == 2);
    CHECK(c.requests_sent == 2);
    CHECK(c.requests_unsent == 4);
    CHECK(c.status_match == 2);
    CHECK(r.took < 2s);
}

TEST_CASE("a reset by the target fails the session and the run ends", "[replay][socket]") {
    test::LineServerConfig cfg;
    cfg.reset_after = 1;  // RST instead of answering request 1
    test::LineServer server(cfg);
    const Recording rec = make_recording({three_requests()});
    const Run r = replay(rec, server.address(), {.copies = 2});
    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_started == 2);
    CHECK(c.sessions_reset == 2);
    CHECK(c.sessions_completed == 0);
    CHECK(c.requests_sent == 4);
    CHECK(c.requests_unsent == 2);
    CHECK(c.status_match == 2);  // the answers to request 0
    CHECK(r.took < 2s);
}

TEST_CASE("a target that never answers: sessions time out, are counted, and the run ends",
          "[replay][socket]") {
    test::LineServerConfig cfg;
    cfg.never_answer = true;
    test::LineServer server(cfg);
    const Recording rec = make_recording({three_requests()});
    const Run r = replay(rec, server.address(), {.copies = 3, .timeout_ns = 300 * kMs});
    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_started == 3);
    CHECK(c.sessions_timed_out == 3);
    CHECK(c.connect_timed_out == 0);  // connected; the answer never came
    CHECK(c.requests_sent == 3);
    CHECK(c.requests_unsent == 6);
    CHECK(c.responses_seen == 0);
    CHECK(r.took >= 290ms);
    CHECK(r.took < 3s);
    CHECK(server.received().size() == 3);
}

TEST_CASE("a refused connection is counted, never fatal, and the run ends", "[replay][socket]") {
    const net::Endpoint nobody = test::closed_loopback_port();
    const Recording rec = make_recording({three_requests()});
    const Run r = replay(rec, nobody, {.copies = 4, .timeout_ns = 2'000 * kMs});
    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_started == 4);
    CHECK(c.sessions_reset == 4);
    CHECK(c.connect_refused == 4);
    CHECK(c.requests_sent == 0);
    CHECK(c.requests_unsent == 12);
    CHECK(r.took < 1s);
    CHECK(r.result.stop_reason.empty());
}

TEST_CASE("a target that never accepts: connections time out and the run ends",
          "[replay][socket]") {
    test::LineServerConfig cfg;
    cfg.never_accept = true;  // backlog 0: the kernel drops the SYNs of all but the first
    test::LineServer server(cfg);
    const Recording rec = make_recording({three_requests()});
    const Run r = replay(rec, server.address(), {.copies = 4, .timeout_ns = 300 * kMs});
    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_started == 4);
    CHECK(c.sessions_timed_out == 4);
    CHECK(c.connect_timed_out >= 2);
    CHECK(r.took < 3s);
}

TEST_CASE("a target that keeps its side open after our FIN is reset, the session completed",
          "[replay][socket]") {
    test::LineServerConfig cfg;
    cfg.keep_open = true;
    test::LineServer server(cfg);
    const Recording rec = make_recording({three_requests()});
    const Run r = replay(rec, server.address(), {.copies = 2, .timeout_ns = 300 * kMs});
    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_completed == 2);
    CHECK(c.closed_with_reset == 2);  // after min(fin-wait, --timeout)
    CHECK(c.status_match == 6);
    CHECK(r.took >= 290ms);
    CHECK(r.took < 3s);
}

TEST_CASE("when the server speaks first, the replay waits for its greeting", "[replay][socket]") {
    test::LineServerConfig cfg;
    cfg.greeting = "220 ready\n";
    test::LineServer server(cfg);
    LineSession l;
    l.requests = {"", "HELO\n"};
    l.answers = {"220 ready\n", "OK HELO\n"};
    const Recording rec = make_recording({l});
    const Run r = replay(rec, server.address());
    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_completed == 1);
    CHECK(c.requests_sent == 1);  // the empty request only waits
    CHECK(c.responses_complete == 2);
    CHECK(c.status_match == 2);
    CHECK(c.length_equal == 2);
}

TEST_CASE("a thousand concurrent sessions run on the one run-loop thread", "[replay][socket]") {
    test::LineServer server;
    LineSession l;
    l.requests = {"a\n", "b\n"};
    l.answers = {ok("a\n"), ok("b\n")};
    l.thinks = {200 * kMs, 0};  // every copy holds its connection open for 200 ms first
    const Recording rec = make_recording({l});
    const Run r = replay(rec, server.address(), {.copies = 1000, .timeout_ns = 10'000 * kMs});
    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_started == 1000);
    CHECK(c.sessions_completed == 1000);
    CHECK(c.responses_complete == 2000);
    CHECK(c.endpoint_waits == 0);
    CHECK(server.connections() == 1000);
    CHECK(server.max_open() >= 900);
    CHECK(r.took < 10s);
}

}  // namespace tcpr::replay
