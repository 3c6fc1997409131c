// The checked-in capture fixtures (tests/data, made by make_fixtures) hold what their names
// promise, and the test-support pcap/pcapng writers and parsers agree with each other.
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <zstd.h>

#include "common/net/packet_view.h"
#include "common/session/session_tracker.h"
#include "support/packet_factory.h"
#include "support/pcap_file.h"
#include "support/temp_dir.h"

using namespace tcpr;
using namespace tcpr::test;
using net::SkipReason;
namespace sf = session::session_flags;

namespace {

std::filesystem::path data(const std::string& rel) {
    const std::filesystem::path p = std::filesystem::path(TCPR_TEST_DATA) / rel;
    REQUIRE(std::filesystem::exists(p));
    return p;
}

std::vector<net::PacketView> decode_all(uint32_t link, const std::vector<PcapRecord>& records) {
    std::vector<net::PacketView> out;
    for (size_t i = 0; i < records.size(); ++i) {
        CAPTURE(i);
        const auto r = net::decode(link, records[i].bytes);
        REQUIRE(r.ok());
        out.push_back(r.packet());
    }
    return out;
}

session::SessionTracker track(const std::vector<net::PacketView>& views,
                              const std::vector<PcapRecord>& records) {
    session::SessionTracker t;
    for (size_t i = 0; i < views.size(); ++i) {
        t.observe(views[i], records[i].ts_ns, 0);
    }
    return t;
}

void require_parse_error(const std::string& rel, const std::string& what) {
    try {
        read_pcap(data(rel));
        FAIL("no error for " << rel);
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), Catch::Contains(what));
    }
}

}  // namespace

TEST_CASE("good/http_sessions.pcap: three complete sessions, one keep-alive", "[net]") {
    const PcapContents c = read_pcap(data("good/http_sessions.pcap"));
    CHECK(c.link_type == 1);
    CHECK(c.resolution == TsResolution::Micro);
    CHECK_FALSE(c.big_endian);
    const auto views = decode_all(c.link_type, c.records);
    const auto t = track(views, c.records);
    REQUIRE(t.size() == 3);
    std::multiset<size_t> requests_per_session;
    for (const auto& s : t.sessions()) {
        CHECK(s.has(sf::kSynSeen | sf::kSynAckSeen | sf::kFinSeen));
        CHECK(s.server.port == 80);
        size_t requests = 0;
        for (const auto& v : views) {
            if (v.payload_len > 0 && net::Endpoint{v.src, v.sport} == s.client) {
                ++requests;
            }
        }
        requests_per_session.insert(requests);
    }
    CHECK(requests_per_session == std::multiset<size_t>{1, 1, 2});
    for (size_t i = 1; i < c.records.size(); ++i) {
        CHECK(c.records[i - 1].ts_ns <= c.records[i].ts_ns);
    }
}

TEST_CASE("good/ captures on other link layers decode completely", "[net]") {
    struct Want {
        std::string file;
        uint32_t link;
        size_t sessions;
    };
    const Want w = GENERATE(Want{"good/sll.pcap", 113, 1}, Want{"good/sll2.pcap", 276, 2},
                            Want{"good/vlan.pcap", 1, 2}, Want{"good/ipv6.pcap", 1, 2});
    CAPTURE(w.file);
    const PcapContents c = read_pcap(data(w.file));
    CHECK(c.link_type == w.link);
    const auto views = decode_all(c.link_type, c.records);
    const auto t = track(views, c.records);
    CHECK(t.size() == w.sessions);
    std::set<int> versions;
    std::set<int> vlan_depths;
    for (const auto& v : views) {
        versions.insert(v.src.version);
        vlan_depths.insert(v.vlan_depth);
    }
    if (w.file == "good/sll2.pcap") {
        CHECK(c.resolution == TsResolution::Nano);
        CHECK(versions == std::set<int>{4, 6});
    }
    if (w.file == "good/ipv6.pcap") {
        CHECK(versions == std::set<int>{6});
    }
    if (w.file == "good/vlan.pcap") {
        CHECK(vlan_depths == std::set<int>{1, 2});
    }
}

TEST_CASE("good/pcapng_single.pcapng: one Ethernet interface, nanosecond stamps", "[net]") {
    const PcapngContents c = read_pcapng(data("good/pcapng_single.pcapng"));
    REQUIRE(c.interfaces.size() == 1);
    CHECK(c.interfaces[0].link_type == 1);
    CHECK(c.interfaces[0].resolution == TsResolution::Nano);
    REQUIRE_FALSE(c.records.empty());
    CHECK(c.records[0].ts_ns % 1000 == 123);
    const auto views = decode_all(1, c.records);
    CHECK(track(views, c.records).size() == 1);
}

TEST_CASE("good/tso_offload.pcap: 20-60 kB segments with zero checksums decode", "[net]") {
    const PcapContents c = read_pcap(data("good/tso_offload.pcap"));
    const auto views = decode_all(c.link_type, c.records);
    std::set<uint32_t> big;
    bool zero_length_seen = false;
    for (size_t i = 0; i < views.size(); ++i) {
        if (views[i].payload_len >= 20000) {
            big.insert(views[i].payload_len);
            const Bytes& b = c.records[i].bytes;
            const size_t l3 = views[i].l3_offset;
            CHECK(b[l3 + 10] == 0);  // IPv4 header checksum
            CHECK(b[l3 + 11] == 0);
            CHECK(b[views[i].l4_offset + 16] == 0);  // TCP checksum
            CHECK(b[views[i].l4_offset + 17] == 0);
            zero_length_seen = zero_length_seen || (b[l3 + 2] == 0 && b[l3 + 3] == 0);
        }
    }
    CHECK(big == std::set<uint32_t>{20000, 40000, 60000});
    CHECK(zero_length_seen);
}

TEST_CASE("good/midsession.pcap: no SYN, oriented by the lower port", "[net]") {
    const PcapContents c = read_pcap(data("good/midsession.pcap"));
    const auto views = decode_all(c.link_type, c.records);
    for (const auto& v : views) {
        CHECK_FALSE(v.syn());
    }
    const auto t = track(views, c.records);
    REQUIRE(t.size() == 1);
    CHECK_FALSE(t.sessions()[0].has(sf::kClientFromSyn));
    CHECK(t.sessions()[0].server.port == 80);
    CHECK(t.sessions()[0].has(sf::kFinSeen));
}

TEST_CASE("bad/ pcap files fail to parse as their names say", "[net]") {
    require_parse_error("bad/not_a_pcap.txt", "bad magic");
    require_parse_error("bad/truncated_header.pcap", "file header truncated");
    require_parse_error("bad/truncated_record.pcap", "record data truncated");
    CHECK(read_file(data("bad/truncated_header.pcap")).size() == 10);
    CHECK(read_pcap(data("bad/empty.pcap")).records.empty());
}

TEST_CASE("bad/wrong_dlt.pcap: IEEE 802.11 is an unsupported link", "[net]") {
    const PcapContents c = read_pcap(data("bad/wrong_dlt.pcap"));
    CHECK(c.link_type == 105);
    REQUIRE_FALSE(c.records.empty());
    for (const auto& r : c.records) {
        const auto d = net::decode(c.link_type, r.bytes);
        REQUIRE_FALSE(d.ok());
        CHECK(d.reason() == SkipReason::UnsupportedLink);
    }
}

TEST_CASE("bad/pcapng_multi_if.pcapng: two interfaces with different link types", "[net]") {
    const PcapngContents c = read_pcapng(data("bad/pcapng_multi_if.pcapng"));
    REQUIRE(c.interfaces.size() == 2);
    CHECK(c.interfaces[0].link_type == 1);
    CHECK(c.interfaces[1].link_type == 113);
    std::set<uint32_t> used;
    for (const auto& r : c.records) {
        used.insert(r.interface_id);
        const auto d = net::decode(c.interfaces[r.interface_id].link_type, r.bytes);
        CHECK(d.ok());
    }
    CHECK(used == std::set<uint32_t>{0, 1});
}

TEST_CASE("bad/fragments.pcap: IPv4 fragments of one segment, then one normal packet", "[net]") {
    const PcapContents c = read_pcap(data("bad/fragments.pcap"));
    REQUIRE(c.records.size() == 4);
    for (size_t i = 0; i < 3; ++i) {
        const auto d = net::decode(c.link_type, c.records[i].bytes);
        REQUIRE_FALSE(d.ok());
        CHECK(d.reason() == SkipReason::Fragment);
    }
    CHECK(net::decode(c.link_type, c.records[3].bytes).ok());
}

TEST_CASE("bad/ zstd files: random bytes, and a valid frame of plain text", "[net]") {
    const Bytes garbage = read_file(data("bad/garbage.pcap.zst"));
    CHECK(garbage.size() == 4096);
    CHECK(ZSTD_isError(ZSTD_getFrameContentSize(garbage.data(), garbage.size())));

    const Bytes frame = read_file(data("bad/wrong_content.zst"));
    const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
    REQUIRE(size != ZSTD_CONTENTSIZE_ERROR);
    REQUIRE(size != ZSTD_CONTENTSIZE_UNKNOWN);
    std::string text(size, '\0');
    const size_t n = ZSTD_decompress(text.data(), text.size(), frame.data(), frame.size());
    REQUIRE_FALSE(ZSTD_isError(n));
    CHECK(n == size);
    CHECK_THAT(text, Catch::StartsWith("This is a valid zstd frame"));
}

TEST_CASE("pcap writer and parser round trip: us/ns, both byte orders, snaplen cut", "[base]") {
    const TsResolution res = GENERATE(TsResolution::Micro, TsResolution::Nano);
    const bool big = GENERATE(false, true);
    CAPTURE(res == TsResolution::Nano, big);
    std::vector<PcapRecord> in = {
        {1'700'000'000'123'456'789ULL, to_bytes("abc"), 0, 0},
        {1'700'000'001'000'000'001ULL, pattern_bytes(100), 1500, 0},
    };
    PcapOptions o;
    o.link_type = 113;
    o.resolution = res;
    o.big_endian = big;
    o.snaplen = 100;
    TempDir dir;
    write_pcap(dir / "x.pcap", o, in);
    const PcapContents c = read_pcap(dir / "x.pcap");
    CHECK(c.version_major == 2);
    CHECK(c.version_minor == 4);
    CHECK(c.link_type == 113);
    CHECK(c.snaplen == 100);
    CHECK(c.big_endian == big);
    CHECK(c.resolution == res);
    REQUIRE(c.records.size() == 2);
    const uint64_t cut = res == TsResolution::Nano ? 0 : 789;  // microseconds drop the ns
    CHECK(c.records[0].ts_ns == in[0].ts_ns - cut);
    CHECK(c.records[0].bytes == in[0].bytes);
    CHECK(c.records[0].orig_len == 3);
    CHECK(c.records[1].orig_len == 1500);
    CHECK(c.records[1].bytes == in[1].bytes);
}

TEST_CASE("pcapng writer and parser round trip with several interfaces", "[base]") {
    PcapngInterface a;
    a.name = "eth0";
    PcapngInterface b;
    b.name = "";
    b.link_type = 276;
    b.snaplen = 65535;
    b.resolution = TsResolution::Micro;
    const std::vector<PcapRecord> in = {
        {1'700'000'000'000'000'007ULL, to_bytes("x"), 0, 0},
        {1'700'000'000'000'002'000ULL, to_bytes("hello"), 60, 1},
        {1'700'000'000'000'003'000ULL, {}, 0, 0},
    };
    const Bytes file = pcapng_bytes({a, b}, in);
    CHECK(file.size() % 4 == 0);
    const PcapngContents c = parse_pcapng(file);
    REQUIRE(c.interfaces.size() == 2);
    CHECK(c.interfaces[0].name == "eth0");
    CHECK(c.interfaces[0].resolution == TsResolution::Nano);
    CHECK(c.interfaces[1].name.empty());
    CHECK(c.interfaces[1].link_type == 276);
    CHECK(c.interfaces[1].snaplen == 65535);
    CHECK(c.interfaces[1].resolution == TsResolution::Micro);
    REQUIRE(c.records.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(c.records[i].ts_ns == in[i].ts_ns);
        CHECK(c.records[i].bytes == in[i].bytes);
        CHECK(c.records[i].interface_id == in[i].interface_id);
    }
    CHECK(c.records[1].orig_len == 60);

    CHECK_THROWS_AS(pcapng_bytes({a}, {{0, {}, 0, 1}}), std::invalid_argument);
    Bytes cut(file.begin(), file.end() - 3);
    CHECK_THROWS_AS(parse_pcapng(cut), std::runtime_error);
    CHECK_THROWS_AS(parse_pcapng(pcap_bytes(PcapOptions{}, {})), std::runtime_error);
}

TEST_CASE("TempDir is removed with its contents", "[base]") {
    std::filesystem::path kept;
    {
        TempDir d("tcpr-tempdir-test");
        kept = d.path();
        REQUIRE(std::filesystem::is_directory(kept));
        std::filesystem::create_directories(d / "a" / "b");
        write_file(d / "a" / "b" / "f.txt", "text");
        CHECK(read_file(d / "a" / "b" / "f.txt").size() == 4);
        TempDir other("tcpr-tempdir-test");
        CHECK(other.path() != d.path());
    }
    CHECK_FALSE(std::filesystem::exists(kept));
    CHECK_THROWS_AS(read_file(kept / "missing"), std::runtime_error);
}
