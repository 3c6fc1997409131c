// net::build_tcp_packet and the checksums, cross-checked against the decoder and libtins-made
// packets of tests/support.
#include "common/net/packet_builder.h"

#include <catch2/catch.hpp>

#include "common/net/checksum.h"
#include "common/net/packet_view.h"
#include "support/packet_factory.h"

namespace tcpr::net {
namespace {

Endpoint ep(const char* addr, uint16_t port) { return Endpoint{*IpAddress::parse(addr), port}; }

}  // namespace

TEST_CASE("built IPv4 and IPv6 packets decode to what was asked, with valid checksums",
          "[replay][net]") {
    const bool v6 = GENERATE(false, true);
    CAPTURE(v6);
    const std::vector<uint8_t> payload = test::pattern_bytes(1001, 3);
    TcpSegmentSpec s;
    s.src = v6 ? ep("fd00::1", 40000) : ep("10.0.0.1", 40000);
    s.dst = v6 ? ep("fd00::2", 80) : ep("10.0.0.2", 80);
    s.seq = 0xfffffffe;
    s.ack = 0x12345678;
    s.flags = tcp_flags::kAck | tcp_flags::kPsh;
    s.window = 512;
    s.payload = payload;
    s.ip_id = 77;
    std::vector<uint8_t> out{0xee};  // appends after existing bytes
    const size_t n = build_tcp_packet(s, out);
    CHECK(n == tcp_packet_size(s));
    REQUIRE(out.size() == 1 + n);
    const auto pkt = std::span<const uint8_t>(out).subspan(1);
    const DecodeResult d = decode(LinkType::Raw, pkt);
    REQUIRE(d.ok());
    const PacketView& v = d.packet();
    CHECK(v.src == s.src.addr);
    CHECK(v.dst == s.dst.addr);
    CHECK(v.sport == 40000);
    CHECK(v.dport == 80);
    CHECK(v.seq == s.seq);
    CHECK(v.ack == s.ack);
    CHECK(v.flags == s.flags);
    CHECK(v.window == 512);
    CHECK(v.payload_len == 1001);
    CHECK(v.ip_len == n);
    CHECK(std::equal(payload.begin(), payload.end(), pkt.begin() + v.payload_offset));
    CHECK(tcp_checksum(v.src, v.dst, pkt.subspan(v.l4_offset)) == 0);
    if (!v6) {
        CHECK(ipv4_header_checksum(pkt.subspan(0, 20)) == 0);
    }
    Endpoint dst;
    REQUIRE(tcp_destination(pkt, dst));
    CHECK(dst == s.dst);
}

TEST_CASE("checksums equal libtins' for the same segment", "[replay][net]") {
    const bool v6 = GENERATE(false, true);
    test::TcpSpec t;
    t.src = v6 ? "fd00::1" : "10.1.2.3";
    t.dst = v6 ? "fd00::9" : "10.3.2.1";
    t.sport = 1234;
    t.dport = 8080;
    t.seq = 0x80000000u;
    t.ack = 42;
    t.flags = tcp_flags::kAck;
    t.payload = test::pattern_bytes(333, 1);
    const auto ref = test::make_tcp_ip(t);
    const auto d = decode(LinkType::Raw, ref);
    REQUIRE(d.ok());
    const PacketView& v = d.packet();
    // Our checksum over libtins' segment (its checksum field zeroed) must equal libtins' value.
    std::vector<uint8_t> seg(ref.begin() + v.l4_offset, ref.end());
    const uint16_t theirs = static_cast<uint16_t>((seg[16] << 8) | seg[17]);
    seg[16] = seg[17] = 0;
    CHECK(tcp_checksum(v.src, v.dst, seg) == theirs);
}

TEST_CASE("SYN options are laid out and padded", "[replay][net]") {
    TcpSegmentSpec s;
    s.src = ep("10.0.0.1", 1);
    s.dst = ep("10.0.0.2", 2);
    s.flags = tcp_flags::kSyn;
    s.mss = 1460;
    s.window_scale = 7;
    s.sack_permitted = true;
    std::vector<uint8_t> out;
    build_tcp_packet(s, out);
    const auto d = decode(LinkType::Raw, out);
    REQUIRE(d.ok());
    CHECK(d.packet().tcp_header_len == 32);
    const uint8_t* o = out.data() + 40;
    CHECK(o[0] == 2);
    CHECK(o[1] == 4);
    CHECK(((o[2] << 8) | o[3]) == 1460);
    CHECK(o[4] == 1);
    CHECK(o[5] == 3);
    CHECK(o[7] == 7);
    CHECK(tcp_checksum(d.packet().src, d.packet().dst, std::span<const uint8_t>(out).subspan(20)) ==
          0);
}

TEST_CASE("incremental checksum update matches a full recomputation", "[replay][net]") {
    TcpSegmentSpec s;
    s.src = ep("10.0.0.1", 1000);
    s.dst = ep("10.0.0.2", 80);
    s.seq = 1;
    s.ack = 2;
    s.flags = tcp_flags::kAck;
    std::vector<uint8_t> a, b;
    build_tcp_packet(s, a);
    s.seq = 0xdeadbeef;
    build_tcp_packet(s, b);
    const uint16_t ca = static_cast<uint16_t>((a[36] << 8) | a[37]);
    const uint16_t cb = static_cast<uint16_t>((b[36] << 8) | b[37]);
    CHECK(checksum_update32(ca, 1, 0xdeadbeef) == cb);
    CHECK(checksum_update16(checksum_update16(ca, 7, 9), 9, 7) == ca);
}

TEST_CASE("tcp_destination rejects what is not a complete TCP packet", "[replay][net]") {
    Endpoint e;
    CHECK_FALSE(tcp_destination({}, e));
    const std::vector<uint8_t> junk{0x45, 0, 0};
    CHECK_FALSE(tcp_destination(junk, e));
    const auto udp = test::make_udp({});
    // make_udp builds an Ethernet frame: strip 14 bytes for the IP packet.
    CHECK_FALSE(tcp_destination(std::span<const uint8_t>(udp).subspan(14), e));
}

}  // namespace tcpr::net
