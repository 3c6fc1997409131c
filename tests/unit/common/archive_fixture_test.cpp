// The format v1 fixture, tests/data/good/format_v1.pcap.zst: written once by the generator
// below (an archive of format version 1.0) and read by every later build, so a format change
// that breaks old archives fails here. See tests/data/README.md, "Archive fixtures".
//
// To (re)write the file, which should only be needed if it is lost:
//   TCPR_WRITE_ARCHIVE_FIXTURE=1 <build>/tests/common_tests "[archive-fixture-writer]"
// Never rewrite it to make a failing test pass: a new format version gets a new fixture.
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <catch2/catch.hpp>

#include "archive_test_util.h"
#include "common/archive/archive_reader.h"
#include "common/archive/archive_writer.h"
#include "common/base/crc32.h"

using namespace tcpr::archive;
using namespace tcpr::archive::test;
namespace sf = tcpr::session::session_flags;

namespace {

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;  // 2023-11-14T22:13:20Z
constexpr uint64_t kMs = 1'000'000;
const std::string kPath = std::string(TCPR_TEST_DATA) + "/good/format_v1.pcap.zst";

// The records of the fixture, in capture order.
std::vector<Rec> fixture_records() {
    std::vector<Rec> r;
    const auto add = [&](uint64_t ms, Bytes b) {
        const auto len = static_cast<uint32_t>(b.size());
        r.push_back(Rec{kT0 + ms * kMs + 123, len, std::move(b)});
    };
    const uint32_t c1 = 0x0a010001, srv = 0x0a010002, c3 = 0x0a010003;
    const std::string get = "GET /index.html HTTP/1.1\r\nHost: fixture\r\n\r\n";
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 240\r\n\r\n" + std::string(240, 'f');
    // S1: IPv4, complete: handshake, one request, response, FIN both ways.
    add(0, ipv4_tcp(c1, srv, Tcp{41000, 80, 1000, 0, kSyn, ""}));
    add(1, ipv4_tcp(srv, c1, Tcp{80, 41000, 5000, 1001, kSyn | kAck, ""}));
    add(2, ipv4_tcp(c1, srv, Tcp{41000, 80, 1001, 5001, kAck, ""}));
    add(3, ipv4_tcp(c1, srv, Tcp{41000, 80, 1001, 5001, kAck | kPsh, get}));
    // S2: IPv6, handshake, a request, then the client resets.
    add(4, ipv6_tcp(1, 2, Tcp{41001, 80, 77, 0, kSyn, ""}));
    add(5, ipv4_tcp(srv, c1, Tcp{80, 41000, 5001, 1044, kAck | kPsh, ok}));
    add(6, ipv6_tcp(2, 1, Tcp{80, 41001, 900, 78, kSyn | kAck, ""}));
    add(7, ipv6_tcp(1, 2, Tcp{41001, 80, 78, 901, kAck | kPsh, get}));
    add(8, ipv4_udp(c1, srv));  // stored, not indexed
    add(9, ipv4_tcp(c1, srv, Tcp{41000, 80, 1044, 5282, kFin | kAck, ""}));
    add(10, ipv6_tcp(1, 2, Tcp{41001, 80, 121, 901, kRst, ""}));
    // S3: IPv4, captured mid-session (no SYN): the server sends, the client acknowledges.
    add(11, ipv4_tcp(srv, c3, Tcp{80, 41002, 3000, 400, kAck | kPsh, ok}));
    add(12, ipv4_tcp(srv, c1, Tcp{80, 41000, 5282, 1045, kFin | kAck, ""}));
    add(13, ipv4_tcp(c3, srv, Tcp{41002, 80, 400, 3281, kAck, ""}));
    add(14, ipv4_tcp(c1, srv, Tcp{41000, 80, 1045, 5283, kAck, ""}));
    return r;
}

WriterOptions fixture_options() {
    WriterOptions o;
    o.link_type = 1;
    o.snaplen = 65535;
    o.level = 3;
    o.frame_bytes = 512;  // a few small frames
    o.frame_span = std::chrono::seconds(1);
    o.server_port = 80;
    o.source = "format v1 fixture (tests/unit/common/archive_fixture_test.cpp)";
    return o;
}

Bytes build_fixture() { return write_archive(fixture_records(), fixture_options(), {5, 1}); }

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

uint32_t records_crc(const std::vector<Rec>& recs) {
    uint32_t crc = 0;
    for (const Rec& r : recs) {
        Bytes head;
        for (uint64_t v : {r.ts_ns, uint64_t{r.orig_len}}) {
            for (int i = 0; i < 8; ++i) {
                head.push_back(static_cast<uint8_t>(v >> (8 * i)));
            }
        }
        crc = tcpr::crc32_update(crc, head);
        crc = tcpr::crc32_update(crc, r.bytes);
    }
    return crc;
}

}  // namespace

TEST_CASE("writes the format v1 fixture when asked to", "[archive][archive-fixture-writer]") {
    // Without TCPR_WRITE_ARCHIVE_FIXTURE this checks the generator is deterministic, which is
    // what makes the README's recipe reproduce the checked-in file's content.
    const Bytes a = build_fixture();
    CHECK(a == build_fixture());
    const char* env = std::getenv("TCPR_WRITE_ARCHIVE_FIXTURE");
    if (env != nullptr && std::string(env) == "1") {
        std::ofstream out(kPath, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(a.data()), static_cast<std::streamsize>(a.size()));
        out.close();
        REQUIRE(out.good());
    }
}

TEST_CASE("the format v1 fixture reads with its known values", "[archive]") {
    const Bytes file = read_file(kPath);
    SpanSource src(file);
    const ArchiveReader reader(src, "format_v1.pcap.zst");
    const ArchiveInfo& info = reader.info();

    CHECK(info.format_version == 1);
    CHECK(info.format_minor == 0);
    CHECK(info.writer == "tcprec 0.1.0");
    CHECK(info.source == "format v1 fixture (tests/unit/common/archive_fixture_test.cpp)");
    CHECK(info.link_type == 1);
    CHECK(info.snaplen == 65535);
    CHECK(info.server_port == 80);
    CHECK(info.packets == 15);
    CHECK(info.indexed == 14);
    CHECK(info.not_indexed.of(tcpr::net::SkipReason::NotTcp) == 1);
    CHECK(info.not_indexed.total() == 1);
    CHECK(info.first_ns == kT0 + 123);
    CHECK(info.last_ns == kT0 + 14 * kMs + 123);
    CHECK(info.kernel_drops == 5);
    CHECK(info.interface_drops == 1);
    CHECK(info.file_bytes == file.size());

    // Frames of at most 512 bytes of pcap records.
    std::vector<uint32_t> packets;
    uint64_t pcap_bytes = 24;
    for (const FrameEntry& f : info.frames) {
        packets.push_back(f.packets);
        pcap_bytes += f.decompressed;
        CHECK(f.decompressed <= 512);
    }
    CHECK(packets == std::vector<uint32_t>{5, 2, 4, 3, 1});
    CHECK(info.pcap_bytes == pcap_bytes);
    CHECK(info.frames[2].first_ns == kT0 + 7 * kMs + 123);
    CHECK(info.frames[2].last_ns == kT0 + 10 * kMs + 123);

    REQUIRE(info.sessions.size() == 3);
    const auto& s1 = info.sessions[0];
    CHECK(s1.client.to_string() == "10.1.0.1:41000");
    CHECK(s1.server.to_string() == "10.1.0.2:80");
    CHECK(s1.first_ns == kT0 + 123);
    CHECK(s1.last_ns == kT0 + 14 * kMs + 123);
    CHECK(s1.packets_c2s == 5);
    CHECK(s1.packets_s2c == 3);
    CHECK(s1.bytes_c2s == 43);
    CHECK(s1.bytes_s2c == 280);
    CHECK(s1.flags == (sf::kSynSeen | sf::kSynAckSeen | sf::kFinSeen | sf::kClientFromSyn));
    CHECK(s1.frames == std::vector<uint32_t>{0, 1, 2, 3, 4});

    const auto& s2 = info.sessions[1];
    CHECK(s2.client.to_string() == "[2001:db8::1]:41001");
    CHECK(s2.server.to_string() == "[2001:db8::2]:80");
    CHECK(s2.first_ns == kT0 + 4 * kMs + 123);
    CHECK(s2.last_ns == kT0 + 10 * kMs + 123);
    CHECK(s2.packets_c2s == 3);
    CHECK(s2.packets_s2c == 1);
    CHECK(s2.bytes_c2s == 43);
    CHECK(s2.bytes_s2c == 0);
    CHECK(s2.flags == (sf::kSynSeen | sf::kSynAckSeen | sf::kRstSeen | sf::kClientFromSyn));
    CHECK(s2.frames == std::vector<uint32_t>{0, 1, 2});

    const auto& s3 = info.sessions[2];
    CHECK(s3.client.to_string() == "10.1.0.3:41002");
    CHECK(s3.server.to_string() == "10.1.0.2:80");
    CHECK(s3.packets_c2s == 1);
    CHECK(s3.packets_s2c == 1);
    CHECK(s3.bytes_s2c == 280);
    CHECK(s3.flags == 0);
    CHECK(s3.frames == std::vector<uint32_t>{3});

    DamageReport rep;
    const std::vector<Rec> recs = read_records(reader, &rep);
    CHECK(rep.clean());
    CHECK(recs.size() == 15);
    CHECK(records_crc(recs) == 0x9D2F4165u);
    CHECK(verify_archive(src, "format_v1.pcap.zst").clean());

    // zstd -dc view: one nanosecond pcap with the same records.
    const Pcap p = parse_pcap(zstd_dc(file));
    CHECK(p.magic == 0xA1B23C4D);
    CHECK(p.link_type == 1);
    CHECK(p.snaplen == 65535);
    CHECK(p.records == recs);
}

TEST_CASE("the generator still writes what the format v1 fixture holds", "[archive]") {
    // Content, not bytes: another zstd version may compress differently.
    const Bytes fresh = build_fixture();
    const Bytes stored = read_file(kPath);
    SpanSource a_src(fresh), b_src(stored);
    const ArchiveReader a(a_src, "fresh"), b(b_src, "stored");
    CHECK(read_records(a) == read_records(b));
    CHECK(read_records(b) == fixture_records());
    CHECK(a.info().sessions.size() == b.info().sessions.size());
    CHECK(a.info().packets == b.info().packets);
    CHECK(a.info().source == b.info().source);
    for (size_t i = 0; i < a.info().frames.size() && i < b.info().frames.size(); ++i) {
        CHECK(a.info().frames[i].packets == b.info().frames[i].packets);
        CHECK(a.info().frames[i].decompressed == b.info().frames[i].decompressed);
    }
}
