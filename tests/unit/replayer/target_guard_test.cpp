// The "inject only into --target" rule, without root: TargetGuard decides what RawSocket and
// PcapInjector would send; ARP table and MAC parsing for pcap injection.
#include <catch2/catch.hpp>

#include "common/net/packet_builder.h"
#include "common/os/pcap_injector.h"
#include "common/os/raw_socket.h"
#include "support/packet_factory.h"

namespace tcpr::os {
namespace {

net::Endpoint ep(const char* addr, uint16_t port) {
    return net::Endpoint{*net::IpAddress::parse(addr), port};
}

std::vector<uint8_t> packet_to(const net::Endpoint& dst, const net::Endpoint& src) {
    net::TcpSegmentSpec s;
    s.src = src;
    s.dst = dst;
    s.flags = net::tcp_flags::kSyn;
    std::vector<uint8_t> out;
    net::build_tcp_packet(s, out);
    return out;
}

}  // namespace

TEST_CASE("the guard permits only packets to the target's address and port", "[replay][guard]") {
    const TargetGuard g(ep("10.0.0.2", 80));
    CHECK(g.permits(packet_to(ep("10.0.0.2", 80), ep("10.9.9.9", 4000))));
    CHECK_FALSE(g.permits(packet_to(ep("10.0.0.2", 81), ep("10.9.9.9", 4000))));
    CHECK_FALSE(g.permits(packet_to(ep("10.0.0.3", 80), ep("10.9.9.9", 4000))));
    CHECK_FALSE(g.permits(packet_to(ep("fd00::2", 80), ep("fd00::9", 4000))));
    // Not TCP, truncated, empty: refused.
    const auto udp = test::make_udp({"10.9.9.9", "10.0.0.2", 5000, 80, {}});
    CHECK_FALSE(g.permits(std::span<const uint8_t>(udp).subspan(14)));
    auto cut = packet_to(ep("10.0.0.2", 80), ep("10.9.9.9", 4000));
    cut.resize(30);
    CHECK_FALSE(g.permits(cut));
    CHECK_FALSE(g.permits({}));
    const TargetGuard g6(ep("fd00::2", 8080));
    CHECK(g6.permits(packet_to(ep("fd00::2", 8080), ep("fd00::1", 1))));
    CHECK_FALSE(g6.permits(packet_to(ep("fd00::3", 8080), ep("fd00::1", 1))));
}

TEST_CASE("MAC addresses and the ARP table", "[replay][guard]") {
    std::array<uint8_t, 6> mac{};
    REQUIRE(parse_mac("02:00:0a:ff:00:01", mac));
    CHECK(mac == std::array<uint8_t, 6>{2, 0, 0x0a, 0xff, 0, 1});
    CHECK_FALSE(parse_mac("02:00:0a:ff:00", mac));
    CHECK_FALSE(parse_mac("02:00:0a:ff:00:01:07", mac));
    CHECK_FALSE(parse_mac("zz:00:0a:ff:00:01", mac));
    const std::string table =
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        "10.0.0.7         0x1         0x0         00:00:00:00:00:00     *        eth0\n"
        "10.0.0.2         0x1         0x2         aa:bb:cc:dd:ee:ff     *        eth0\n";
    REQUIRE(find_arp_entry(table, *net::IpAddress::parse("10.0.0.2"), mac));
    CHECK(mac == std::array<uint8_t, 6>{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff});
    CHECK_FALSE(find_arp_entry(table, *net::IpAddress::parse("10.0.0.7"), mac));  // incomplete
    CHECK_FALSE(find_arp_entry(table, *net::IpAddress::parse("10.0.0.9"), mac));
}

}  // namespace tcpr::os
