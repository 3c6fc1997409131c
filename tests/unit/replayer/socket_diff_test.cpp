// Response comparison and the --diff file's text (response_diff.h): pure functions, plus the
// writer's publish-on-commit behaviour.
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "common/base/error.h"
#include "replayer/report/report.h"
#include "replayer/transport/response_diff.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace tcpr::replay {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

net::Endpoint ep(const char* addr, uint16_t port) {
    return net::Endpoint{*net::IpAddress::parse(addr), port};
}

}  // namespace

TEST_CASE("a response is compared by its first line and its length", "[replay][socket]") {
    using S = ResponseCheck::Status;
    using L = ResponseCheck::Length;
    const auto same =
        compare_response("HTTP/1.1 200 OK", 150, bytes("HTTP/1.1 200 OK\r\nServer"), 150);
    CHECK(same.status == S::Match);
    CHECK(same.length == L::Equal);
    CHECK_FALSE(same.differs());

    const auto other =
        compare_response("HTTP/1.1 200 OK", 150, bytes("HTTP/1.1 404 Not Found\r\n"), 153);
    CHECK(other.status == S::Mismatch);
    CHECK(other.replayed_status == "HTTP/1.1 404 Not Found");
    CHECK(other.length == L::Longer);
    CHECK(other.differs());

    const auto shorter = compare_response("+OK", 5, bytes("+OK\r\n"), 3);
    CHECK(shorter.status == S::Match);
    CHECK(shorter.length == L::Shorter);
    CHECK(shorter.differs());

    // A head cut inside the first line compares on what is there.
    CHECK(compare_response("HTTP/1.1 200 OK", 10, bytes("HTTP/1.1 2"), 10).status == S::Match);
    CHECK(compare_response("HTTP/1.1 200 OK", 10, bytes("HTTP/1.1 4"), 10).status == S::Mismatch);
    // Nothing to compare on one side: unknown, and the length still counts.
    const auto unknown = compare_response("", 10, bytes("abc"), 3);
    CHECK(unknown.status == S::Unknown);
    CHECK(unknown.length == L::Shorter);
    CHECK(compare_response("+OK", 5, {}, 0).status == S::Unknown);
}

TEST_CASE("bytes are escaped into one line and cut", "[replay][socket]") {
    CHECK(escape_bytes(bytes("GET / HTTP/1.1\r\n\r\n"), 100) == "\"GET / HTTP/1.1\\r\\n\\r\\n\"");
    CHECK(escape_bytes(bytes("a\"b\\c\td"), 100) == "\"a\\\"b\\\\c\\td\"");
    const uint8_t bin[] = {0x00, 0x7f, 0xff, 'x'};
    CHECK(escape_bytes(bin, 100) == "\"\\x00\\x7f\\xffx\"");
    CHECK(escape_bytes(bytes("abcdef"), 3) == "\"abc\"...");
    CHECK(escape_bytes({}, 3) == "\"\"");
}

TEST_CASE("a diff entry shows the request, the recorded head and the replayed head",
          "[replay][socket]") {
    const std::string request = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    const ResponseCheck c = compare_response("$3", 9, bytes("$-1\r\n"), 5);
    DiffEntry e;
    e.session = 4;
    e.copy = 1;
    e.loop = 0;
    e.request = 6;
    e.request_count = 50;
    e.recorded_client = ep("10.1.1.1", 40001);
    e.replayed_client = ep("10.2.2.1", 51234);
    e.target = ep("10.2.2.2", 6379);
    e.request_bytes = bytes(request);
    e.recorded_status = "$3";
    e.recorded_head = "$3\r\nabc\r\n";
    e.recorded_len = 9;
    e.replayed_head = bytes("$-1\r\n");
    e.replayed_len = 5;
    e.check = &c;
    CHECK(format_diff_entry(e) ==
          "=== session 4 request 7/50, copy 1, loop 0: recorded client 10.1.1.1:40001, replayed "
          "from 10.2.2.1:51234 to 10.2.2.2:6379\n"
          "differs: status line; length 9 recorded, 5 replayed (-4)\n"
          "request (22 bytes): \"*2\\r\\n$3\\r\\nGET\\r\\n$3\\r\\nkey\\r\\n\"\n"
          "recorded response (9 bytes): \"$3\\r\\nabc\\r\\n\"\n"
          "replayed response (5 bytes): \"$-1\\r\\n\"\n");

    // Heads shorter than the response are marked as cut; a missing recorded head says so.
    e.recorded_head = "";
    e.recorded_status = "";
    e.replayed_len = 500;
    const std::string t = format_diff_entry(e);
    CHECK(t.find("recorded response (9 bytes): (not captured)\n") != std::string::npos);
    CHECK(t.find("replayed response (500 bytes): \"$-1\\r\\n\"...\n") != std::string::npos);
}

TEST_CASE("the diff file appears only when committed, with at most its cap of entries",
          "[replay][socket]") {
    test::TempDir dir;
    const std::string path = (dir / "d.txt").string();
    const ResponseCheck c = compare_response("+OK", 5, bytes("-ERR\r\n"), 6);
    DiffEntry e;
    e.check = &c;
    e.recorded_len = 5;
    e.replayed_len = 6;
    {
        DiffWriter w(path, "# header\n", 2);
        for (int i = 0; i < 3; ++i) {
            e.request = static_cast<uint32_t>(i);
            w.add(e);
        }
        CHECK(w.entries() == 3);
        CHECK(w.written() == 2);
        CHECK_FALSE(std::filesystem::exists(path));
        w.commit();
    }
    const std::string text = test::read_text(path);
    CHECK(text.rfind("# header\n=== session 0 request 1/0", 0) == 0);
    CHECK(text.find("request 2/0") != std::string::npos);
    CHECK(text.find("request 3/0") == std::string::npos);
    CHECK(text.find("# 3 responses differ from the recording; the first 2 are listed\n") !=
          std::string::npos);
    {
        DiffWriter w(path + ".2", "# h\n");
        w.add(e);
    }  // destroyed without commit: nothing published, no partial file left
    CHECK_FALSE(std::filesystem::exists(path + ".2"));
    CHECK_FALSE(std::filesystem::exists(path + ".2.partial"));
    CHECK_THROWS_AS(DiffWriter((dir / "no/such/dir/d.txt").string(), "# h\n"), Error);
}

TEST_CASE("the summary and the JSON report carry the socket transport's counts",
          "[replay][socket]") {
    RunSummary s;
    s.input = "r.pcap.zst";
    s.format = "archive";
    s.target = "10.0.0.2:6379";
    s.transport = "socket (one TCP connection per session)";
    s.mode = TransportMode::Socket;
    s.diff_file = "d.txt";
    ReplayCounters& c = s.counters;
    c.sessions_planned = c.sessions_started = 10;
    c.sessions_completed = 6;
    c.sessions_reset = 2;
    c.connect_refused = 2;
    c.sessions_timed_out = 1;
    c.connect_timed_out = 1;
    c.sessions_conn_error = 1;
    c.length_equal = 7;
    c.length_longer = 2;
    c.length_shorter = 1;
    c.responses_differ = 3;
    c.payload_bytes_sent = 2048;
    const std::string text = format_summary(s);
    INFO(text);
    CHECK(
        text.find("6 completed, 2 reset by target, 1 timed out, 1 connection errors, 0 aborted") !=
        std::string::npos);
    CHECK(text.find("  connections: 2 refused, 1 not established within --timeout, 1 failed with "
                    "another error\n") != std::string::npos);
    CHECK(text.find("  response lengths: 7 as recorded, 2 longer, 1 shorter; 3 responses differ "
                    "(listed in d.txt)\n") != std::string::npos);
    CHECK(text.find("  sent: 2.0 KiB of client data (packets are the kernel's)\n") !=
          std::string::npos);
    CHECK(text.find("packets:") == std::string::npos);
    CHECK(text.find("intercept:") == std::string::npos);
    // Connection errors are failed sessions: 4 of 10.
    CHECK(failed_percent(c) == Approx(40.0));
    const std::string json = format_json(s);
    CHECK(json.find("\"socket\": {\"connection_errors\": 1, \"connect_refused\": 2, "
                    "\"connect_timed_out\": 1, \"length_equal\": 7, \"length_longer\": 2, "
                    "\"length_shorter\": 1, \"responses_differ\": 3, \"diff_file\": "
                    "\"d.txt\"}") != std::string::npos);
}

}  // namespace tcpr::replay
