// load_input: our archive, a truncated archive (rebuilt from its intact frames), pcap and
// pcapng files, the archive's busiest port orienting mid-session captures.
#include "replayer/input/load.h"

#include <set>

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

namespace {

// What a recording holds, session by session, for comparing loads.
std::vector<std::string> describe(const Recording& rec) {
    std::vector<std::string> out;
    for (const auto& s : rec.sessions) {
        std::string d = s.client.to_string() + ">" + s.server.to_string() + " @" +
                        std::to_string(s.start_ns) + " n" + std::to_string(s.request_count) + " b" +
                        std::to_string(s.stream_len) + (s.has_syn ? " syn" : "");
        const auto stream = rec.stream(s);
        d += " " + std::string(stream.begin(), stream.end());
        out.push_back(d);
    }
    return out;
}

}  // namespace

TEST_CASE(
    "several files are one recording merged by time: a capture cut in three loads as "
    "the whole",
    "[replay][builder][inputs]") {
    test::TempDir dir("tcpr-load");
    const auto records = traffic();
    const auto whole = dir / "whole.pcap";
    test::write_pcap(whole, {}, records);
    // Rotated at two points in time (connections span the cuts), written as two archives and
    // a pcap, named so that name order is not time order.
    const size_t a = records.size() / 3, b = records.size() * 2 / 3;
    const std::vector<test::PcapRecord> p0(records.begin(), records.begin() + a);
    const std::vector<test::PcapRecord> p1(records.begin() + a, records.begin() + b);
    const std::vector<test::PcapRecord> p2(records.begin() + b, records.end());
    test::write_file(dir / "part-c.pcap.zst", archive_bytes(p0));
    test::write_pcap(dir / "part-a.pcap", {}, p1);
    test::write_file(dir / "part-b.pcap.zst", archive_bytes(p2));

    const LoadedInput one = load_input(whole.string(), {});
    const std::vector<std::string> paths = expand_inputs({(dir / "part-*").string()});
    REQUIRE(paths.size() == 3);
    CHECK(paths[0] == (dir / "part-a.pcap").string());  // name order
    const LoadedInput merged = load_input(paths, {});
    CHECK(merged.files == 3);
    CHECK(merged.format == "2 archives + 1 pcap/pcapng file");
    CHECK(merged.recording.first_ns == one.recording.first_ns);
    CHECK(merged.recording.last_ns == one.recording.last_ns);
    CHECK(merged.recording.stats.requests == one.recording.stats.requests);
    CHECK(merged.recording.stats.records == one.recording.stats.records);
    CHECK(describe(merged.recording) == describe(one.recording));
}

TEST_CASE(
    "input patterns: matches in name order, each file once, a pattern matching nothing "
    "refused",
    "[replay][builder][inputs]") {
    test::TempDir dir("tcpr-load");
    for (const char* name : {"web-2.pcap.zst", "web-1.pcap.zst", "db-1.pcap.zst"}) {
        test::write_file(dir / name, std::string_view("x"));
    }
    const std::string d = dir.path().string() + "/";
    CHECK(expand_inputs({d + "web-*.pcap.zst"}) ==
          std::vector<std::string>{d + "web-1.pcap.zst", d + "web-2.pcap.zst"});
    CHECK(
        expand_inputs({d + "web-2.pcap.zst", d + "*-?.pcap.zst"}) ==
        std::vector<std::string>{d + "web-2.pcap.zst", d + "db-1.pcap.zst", d + "web-1.pcap.zst"});
    // A plain path is taken as it is (its absence is the loader's one-line error).
    CHECK(expand_inputs({d + "none.pcap"}) == std::vector<std::string>{d + "none.pcap"});
    try {
        expand_inputs({d + "mail-*.pcap.zst"});
        FAIL("accepted");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Usage);
        CHECK_THAT(e.what(), Catch::Contains("no file matches"));
    }
}

TEST_CASE("shards split the sessions: disjoint, together all of them, by recorded client",
          "[replay][builder][shard]") {
    // Many clients, so that every shard gets some.
    std::vector<std::vector<test::PcapRecord>> lists;
    for (int i = 0; i < 40; ++i) {
        test::ConversationSpec c;
        c.client_port = static_cast<uint16_t>(42000 + i * 7);
        c.server_port = 80;
        c.start_ns = 1'700'000'000'000'000'000ULL + static_cast<uint64_t>(i) * 10'000'000;
        c.exchanges = {{test::http_request("/s" + std::to_string(i)), test::http_response(50), 0}};
        lists.push_back(test::make_conversation(c));
    }
    test::TempDir dir("tcpr-load");
    const auto path = dir / "many.pcap.zst";
    test::write_file(path, archive_bytes(test::merge_by_time(lists)));
    const LoadedInput whole = load_input(path.string(), {});
    REQUIRE(whole.recording.sessions.size() == 40);
    constexpr uint32_t kShards = 3;
    std::multiset<std::string> together;
    uint64_t requests = 0;
    for (uint32_t shard = 0; shard < kShards; ++shard) {
        BuilderOptions o;
        o.selection.shard = shard;
        o.selection.shards = kShards;
        const LoadedInput in = load_input(path.string(), o);
        CHECK(!in.recording.sessions.empty());
        CHECK(in.recording.stats.other_shard == 40 - in.recording.sessions.size());
        // One recording clock for every shard: the schedules line up.
        CHECK(in.recording.first_ns == whole.recording.first_ns);
        for (const auto& s : in.recording.sessions) {
            CHECK(shard_of(s.client, kShards) == shard);
        }
        for (const auto& d : describe(in.recording)) {
            together.insert(d);
        }
        requests += in.recording.stats.requests;
    }
    const auto all = describe(whole.recording);
    CHECK(together == std::multiset<std::string>(all.begin(), all.end()));
    CHECK(requests == whole.recording.stats.requests);
    // The hash is fixed by the endpoint alone: the same on every host and build.
    const net::Endpoint e{*net::IpAddress::parse("10.1.2.3"), 40000};
    CHECK(shard_of(e, 1) == 0);
    CHECK(shard_of(e, 7) == shard_of(e, 7));
    CHECK(shard_of(e, 1000) == 163);  // pinned: a change would split old shards anew
}

TEST_CASE("a file that is no capture is one clear error", "[replay][builder]") {
    test::TempDir dir("tcpr-load");
    const auto path = dir / "notes.txt";
    test::write_file(path, std::string_view("just some text, not a capture\n"));
    CHECK_THROWS_AS(load_input(path.string(), {}), Error);
    CHECK_THROWS_AS(load_input((dir / "missing.pcap").string(), {}), Error);
}

}  // namespace tcpr::replay
