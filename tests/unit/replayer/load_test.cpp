// load_input: our archive, a truncated archive (rebuilt from its intact frames), pcap and
// pcapng files, the archive's busiest port orienting mid-session captures.
#include "replayer/input/load.h"

#include <catch2/catch.hpp>

#include "common/archive/archive_writer.h"
#include "common/base/error.h"
#include "support/conversation.h"
#include "support/pcap_file.h"
#include "support/temp_dir.h"

namespace tcpr::replay {
namespace {

// Three keep-alive sessions to port 8080, one to port 22 captured mid-session.
std::vector<test::PcapRecord> traffic() {
    std::vector<std::vector<test::PcapRecord>> lists;
    for (int i = 0; i < 3; ++i) {
        test::ConversationSpec c;
        c.client_port = static_cast<uint16_t>(41000 + i);
        c.server_port = 8080;
        c.start_ns = 1'700'000'000'000'000'000ULL + static_cast<uint64_t>(i) * 1'500'000'000;
        c.exchanges = {{test::http_request("/a"), test::http_response(100), 0},
                       {test::http_request("/b"), test::http_response(2000), 0}};
        lists.push_back(test::make_conversation(c));
    }
    test::ConversationSpec mid;
    mid.handshake = false;
    mid.client_port = 9;  // lower than the server port: only the index's port orients it
    mid.server_port = 8080;
    mid.start_ns = 1'700'000'000'000'000'000ULL + 100'000'000;
    mid.exchanges = {{test::http_request("/mid"), test::http_response(10), 0}};
    lists.push_back(test::make_conversation(mid));
    return test::merge_by_time(lists);
}

std::vector<uint8_t> archive_bytes(const std::vector<test::PcapRecord>& records) {
    archive::VectorSink sink;
    archive::WriterOptions o;
    o.frame_bytes = 4096;  // several frames
    archive::ArchiveWriter w(sink, o);
    for (const auto& r : records) {
        w.add(r.ts_ns, static_cast<uint32_t>(r.bytes.size()), r.bytes);
    }
    w.finish();
    return sink.data();
}

}  // namespace

TEST_CASE("an archive loads with its index's busiest port orienting mid-session captures",
          "[replay][builder]") {
    test::TempDir dir("tcpr-load");
    const auto path = dir / "t.pcap.zst";
    test::write_file(path, archive_bytes(traffic()));
    const LoadedInput in = load_input(path.string(), {});
    CHECK(in.format == "archive");
    CHECK(in.damage.clean());
    CHECK(in.recovered_from.empty());
    REQUIRE(in.server_port);
    CHECK(*in.server_port == 8080);
    REQUIRE(in.recording.sessions.size() == 4);
    for (const auto& s : in.recording.sessions) {
        CHECK(s.server.port == 8080);
    }
    CHECK(in.recording.stats.requests == 7);
    CHECK(in.recording.stats.mid_session == 1);
}

TEST_CASE("a truncated archive is replayed as far as its intact frames go", "[replay][builder]") {
    test::TempDir dir("tcpr-load");
    auto bytes = archive_bytes(traffic());
    const auto whole = dir / "whole.pcap.zst";
    test::write_file(whole, bytes);
    const size_t full_sessions = load_input(whole.string(), {}).recording.sessions.size();
    bytes.resize(bytes.size() * 2 / 3);
    const auto path = dir / "cut.pcap.zst";
    test::write_file(path, bytes);
    const LoadedInput in = load_input(path.string(), {});
    CHECK_THAT(in.recovered_from, Catch::Contains("no archive trailer"));
    CHECK(in.damage.frames_damaged + in.damage.problems.size() > 0);
    CHECK(in.recording.sessions.size() > 0);
    CHECK(in.recording.sessions.size() <= full_sessions);
}

TEST_CASE("pcap and pcapng files load; --port filters", "[replay][builder]") {
    test::TempDir dir("tcpr-load");
    const auto records = traffic();
    const auto pcap = dir / "t.pcap";
    test::write_pcap(pcap, {}, records);
    LoadedInput in = load_input(pcap.string(), {});
    CHECK(in.format == "pcap/pcapng");
    CHECK(in.recording.sessions.size() == 4);
    // Without --port, the port most SYNs went to orients the mid-session capture.
    REQUIRE(in.server_port);
    CHECK(*in.server_port == 8080);
    for (const auto& s : in.recording.sessions) {
        CHECK(s.server.port == 8080);
    }
    const auto ng = dir / "t.pcapng";
    test::write_pcapng(ng, {test::PcapngInterface{}}, records);
    BuilderOptions port;
    port.selection.server_port = 8080;
    in = load_input(ng.string(), port);
    CHECK(in.recording.sessions.size() == 4);
    CHECK(in.recording.stats.mid_session == 1);
    port.selection.server_port = 22;
    CHECK(load_input(ng.string(), port).recording.sessions.empty());
}

TEST_CASE("a file that is no capture is one clear error", "[replay][builder]") {
    test::TempDir dir("tcpr-load");
    const auto path = dir / "notes.txt";
    test::write_file(path, std::string_view("just some text, not a capture\n"));
    CHECK_THROWS_AS(load_input(path.string(), {}), Error);
    CHECK_THROWS_AS(load_input((dir / "missing.pcap").string(), {}), Error);
}

}  // namespace tcpr::replay
