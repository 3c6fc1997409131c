// StreamSource: archive replay reading its input while it runs. Line sessions captured into
// archive files are replayed over the socket transport into a line server of the test's own
// on 127.0.0.1: the server receives exactly what the recording holds (every request of every
// session, copies and loops), whether read streamed or whole; a keep-alive session longer than
// the read-ahead replays whole; and the client bytes held at once stay far below the input's.
#include "replayer/source/stream_source.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/archive/archive_writer.h"
#include "common/os/stream_socket.h"
#include "replayer/input/load.h"
#include "replayer/run/replay.h"
#include "replayer/source/schedule_source.h"
#include "replayer/transport/socket_transport.h"
#include "support/conversation.h"
#include "support/line_server.h"
#include "support/pcap_file.h"
#include "support/temp_dir.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kStart = 1'700'000'000'000'000'000ULL;

test::Bytes bytes(const std::string& s) { return test::Bytes(s.begin(), s.end()); }

// `sessions` line sessions, one every `gap_ns`, each `requests` requests of `pad` bytes plus a
// line number ("s3 r1 xxxx...\n"), answered as the line server answers ("OK " + line).
std::vector<test::PcapRecord> line_capture(int sessions, int requests, size_t pad, uint64_t gap_ns,
                                           uint64_t think_ns = 2 * kMs) {
    std::vector<std::vector<test::PcapRecord>> lists;
    for (int i = 0; i < sessions; ++i) {
        test::ConversationSpec c;
        c.client_port = static_cast<uint16_t>(20000 + i);
        c.server_port = 7000;
        c.start_ns = kStart + static_cast<uint64_t>(i) * gap_ns;
        for (int k = 0; k < requests; ++k) {
            const std::string line =
                "s" + std::to_string(i) + " r" + std::to_string(k) + " " + std::string(pad, 'x');
            c.exchanges.push_back({bytes(line + "\n"), bytes("OK " + line + "\n"), think_ns});
        }
        lists.push_back(test::make_conversation(c));
    }
    return test::merge_by_time(lists);
}

std::vector<uint8_t> archive_of(const std::vector<test::PcapRecord>& records) {
    archive::VectorSink sink;
    archive::WriterOptions o;
    o.frame_bytes = 64 * 1024;
    archive::ArchiveWriter w(sink, o);
    for (const auto& r : records) {
        w.add(r.ts_ns, static_cast<uint32_t>(r.bytes.size()), r.bytes);
    }
    w.finish();
    return sink.data();
}

struct Result {
    ReplayCounters counters;
    std::map<std::string, size_t> lines;  // request lines the server received, counted
    uint64_t peak_buffer = 0;
    uint64_t sessions = 0;
};

SocketTransportOptions socket_options(const net::Endpoint& target) {
    SocketTransportOptions so;
    so.target = target;
    so.timeout_ns = 5'000'000'000;
    return so;
}

std::map<std::string, size_t> received(const test::LineServer& server) {
    std::map<std::string, size_t> m;
    for (const auto& e : server.events()) {
        if (!e.answer) {
            ++m[e.line];
        }
    }
    return m;
}

LiveConfig config(uint32_t copies) {
    LiveConfig c;
    c.archive = true;
    c.port_given = true;
    c.server_port = 7000;
    c.copies = copies;
    c.max_active = UINT64_MAX;
    c.max_buffer_bytes = UINT64_MAX;
    c.max_session_bytes = UINT64_MAX;
    c.idle_ns = 600'000'000'000;
    c.closed_linger_ns = 10'000'000'000;
    return c;
}

Result streamed(const std::vector<std::string>& paths, StreamOptions so, uint32_t copies = 1,
                double sample_percent = 100.0) {
    (void)os::raise_open_file_limit();
    test::LineServer server;
    InputStream input(paths, std::nullopt);
    so.copies = copies;
    LiveConfig c = config(copies);
    c.sample_percent = sample_percent;
    c.sample_seed = 7;
    StreamSource source(input, c, so, ArchiveFacts{});
    SocketTransportOptions o = socket_options(server.address());
    o.speed_milli = so.speed_milli;
    o.feed = &source.sessions();
    o.copies = copies;
    SocketTransport transport(source.sessions().recording(), o, nullptr);
    RunLoopOptions lo;
    lo.progress = false;
    lo.max_active = 64;
    run_loop(source, transport, lo);
    CHECK(transport.active() == 0);
    Result r;
    r.counters = transport.counters();
    r.lines = received(server);
    r.peak_buffer = source.peak_buffer();
    r.sessions = source.sessions().stats().sessions;
    return r;
}

Result whole(const std::vector<std::string>& paths, uint32_t speed_milli, uint32_t copies,
             uint32_t loops) {
    (void)os::raise_open_file_limit();
    test::LineServer server;
    BuilderOptions b;
    b.selection.server_port = 7000;
    const LoadedInput in = load_input(paths, b);
    SocketTransportOptions o = socket_options(server.address());
    o.speed_milli = speed_milli;
    SocketTransport transport(in.recording, o, nullptr);
    std::vector<uint64_t> offsets;
    for (const auto& s : in.recording.sessions) {
        offsets.push_back(s.start_ns - in.recording.first_ns);
    }
    Scheduler sched(offsets, in.recording.span_ns(), {speed_milli, copies, loops, {}});
    RunLoopOptions lo;
    lo.progress = false;
    lo.max_active = 64;
    run_loop(in.recording, sched, transport, lo);
    Result r;
    r.counters = transport.counters();
    r.lines = received(server);
    r.sessions = in.recording.sessions.size();
    return r;
}

}  // namespace

TEST_CASE(
    "streamed and whole, a recording in two files reaches the target alike: every "
    "request of every copy and loop",
    "[replay][stream]") {
    test::TempDir dir("tcpr-stream");
    const auto records = line_capture(30, 4, 20, 20 * kMs);
    const size_t cut = records.size() / 2;  // rotated in the middle of sessions
    test::write_file(dir / "a.pcap.zst",
                     archive_of({records.begin(), records.begin() + static_cast<long>(cut)}));
    test::write_file(dir / "b.pcap.zst",
                     archive_of({records.begin() + static_cast<long>(cut), records.end()}));
    const std::vector<std::string> paths{(dir / "a.pcap.zst").string(),
                                         (dir / "b.pcap.zst").string()};
    const uint32_t speed = GENERATE(0u, 4000u);  // max, 4x
    CAPTURE(speed);
    StreamOptions so;
    so.speed_milli = speed;
    so.loops = 2;
    const Result s = streamed(paths, so, 2);
    const Result w = whole(paths, speed, 2, 2);
    CHECK(w.sessions == 30);
    CHECK(s.sessions == 30 * 2);  // read once per loop
    CHECK(s.lines.size() == 30 * 4);
    for (const auto& [line, n] : s.lines) {
        CHECK(n == 4);  // 2 copies x 2 loops
    }
    CHECK(s.lines == w.lines);
    CHECK(s.counters.requests_sent == w.counters.requests_sent);
    CHECK(s.counters.sessions_completed == 30 * 4);
    CHECK(s.counters.status_match == 30 * 4 * 4);
}

TEST_CASE(
    "streamed, --sample picks the sessions the whole recording's builder picks, in every "
    "loop",
    "[replay][stream]") {
    test::TempDir dir("tcpr-stream");
    test::write_file(dir / "r.pcap.zst", archive_of(line_capture(60, 1, 10, 5 * kMs)));
    const std::string path = (dir / "r.pcap.zst").string();
    BuilderOptions b;
    b.selection.server_port = 7000;
    b.selection.sample_percent = 50;
    b.selection.sample_seed = 7;
    std::map<std::string, size_t> expected;
    for (const auto& s : load_input(path, b).recording.sessions) {
        // "s<i> r0 xxxxxxxxxx": session i is the one from client port 20000 + i, twice (loops).
        expected["s" + std::to_string(s.client.port - 20000) + " r0 " + std::string(10, 'x')] = 2;
    }
    REQUIRE(expected.size() > 10);
    REQUIRE(expected.size() < 50);
    StreamOptions so;
    so.speed_milli = 0;
    so.loops = 2;
    CHECK(streamed({path}, so, 1, 50).lines == expected);
}

TEST_CASE(
    "streamed, memory holds the sessions in flight: a long recording of short sessions "
    "never has much of it buffered, and a session longer than the read-ahead replays whole",
    "[replay][stream]") {
    test::TempDir dir("tcpr-stream");
    // 200 sessions of 4 requests of 2 kB, one every 5 ms (1.6 MB of client bytes), plus one
    // keep-alive session spanning the whole recording with a request every 100 ms.
    auto records = line_capture(200, 4, 2000, 5 * kMs, 1 * kMs);
    test::ConversationSpec longer;
    longer.client_port = 30000;
    longer.server_port = 7000;
    longer.start_ns = kStart;
    for (int k = 0; k < 10; ++k) {
        const std::string line = "long r" + std::to_string(k);
        longer.exchanges.push_back({bytes(line + "\n"), bytes("OK " + line + "\n"), 100 * kMs});
    }
    records = test::merge_by_time({records, test::make_conversation(longer)});
    test::write_file(dir / "r.pcap.zst", archive_of(records));
    StreamOptions so;
    so.speed_milli = 2000;
    so.lookahead_ns = 50 * kMs;  // a small read-ahead: the long session outlives it many times
    const Result s = streamed({(dir / "r.pcap.zst").string()}, so);
    INFO("sent " << s.counters.requests_sent << " unsent " << s.counters.requests_unsent
                 << " closed_early " << s.counters.closed_early << " timed_out "
                 << s.counters.sessions_timed_out << " reset " << s.counters.sessions_reset);
    CHECK(s.lines.size() == 200 * 4 + 10);
    for (int k = 0; k < 10; ++k) {
        CHECK(s.lines.count("long r" + std::to_string(k)) == 1);
        CHECK(s.lines.at("long r" + std::to_string(k)) == 1);
    }
    CHECK(s.counters.sessions_completed == 201);
    CHECK(s.counters.status_match == 200 * 4 + 10);
    // At most the read-ahead (50 ms at 2x: ~10 sessions' 8 kB) and the sessions in flight.
    CHECK(s.peak_buffer > 0);
    CHECK(s.peak_buffer < 200'000);
}

}  // namespace tcpr::replay
