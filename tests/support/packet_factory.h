// Builds captured frames (as a pcap record holds them) for tests: TCP segments over every link
// type we decode, with VLAN tags, IPv4 options, IPv6 extension headers, fragments, offload
// artefacts, and non-TCP traffic (UDP, ARP). libtins is used only inside the .cpp.
// All builders throw std::invalid_argument on a combination they cannot express
// (e.g. VLAN tags on a raw-IP link, or mixed IPv4/IPv6 addresses).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/net/link_type.h"
#include "common/net/packet_view.h"

namespace tcpr::test {

using Bytes = std::vector<uint8_t>;

// How the network-layer packet is wrapped.
struct LinkSpec {
    LinkSpec() = default;
    // Implicit, so a bare link type reads naturally: make_tcp(seg, net::LinkType::LinuxSll).
    LinkSpec(net::LinkType l, std::vector<uint16_t> tags = {})  // NOLINT
        : link(l), vlans(std::move(tags)) {}

    net::LinkType link = net::LinkType::Ethernet;
    // Ethernet, LinuxSll and LinuxSll2 only; outermost first. One tag uses TPID 0x8100; with
    // two or more, all but the innermost use 802.1ad (0x88A8), as QinQ does.
    std::vector<uint16_t> vlans;
    std::array<uint8_t, 6> src_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    std::array<uint8_t, 6> dst_mac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
};

// One TCP segment. The address family follows the address text ("10.0.0.1" or "fd00::1").
struct TcpSpec {
    std::string src = "10.0.0.1";
    std::string dst = "10.0.0.2";
    uint16_t sport = 40000;
    uint16_t dport = 80;
    uint32_t seq = 1000;
    uint32_t ack = 0;
    uint8_t flags = net::tcp_flags::kAck;  // net::tcp_flags::*
    uint16_t window = 65535;
    Bytes payload;
    std::optional<uint16_t> mss;          // TCP MSS option
    std::optional<uint8_t> window_scale;  // TCP window scale option
    uint16_t ip_id = 1;                   // IPv4 identification
    uint8_t ttl = 64;                     // IPv4 TTL / IPv6 hop limit
    // Raw IPv4 option bytes, padded with EOL to a multiple of 4 (at most 40 bytes).
    Bytes ipv4_options;
    // IPv6 extension headers inserted before TCP, by next-header value: 0 hop-by-hop,
    // 43 routing, 60 destination options (8 bytes each, PadN), 51 AH (16 bytes),
    // 44 fragment (offset 0, M flag set).
    std::vector<uint8_t> ipv6_ext_headers;
    // Offload artefacts, as a capture on a TSO/GSO sender shows them.
    bool zero_checksums = false;        // IPv4 header checksum and TCP checksum left 0
    bool zero_ip_total_length = false;  // IPv4 total length / IPv6 payload length 0
};

// "GET / HTTP/1.1\r\n" -> bytes.
Bytes to_bytes(std::string_view text);
// n bytes of a deterministic pattern (seeded), e.g. for large payloads.
Bytes pattern_bytes(size_t n, uint8_t seed = 0);

// Bytes of the link header `link` adds in front of the IP header (VLAN tags included).
size_t link_header_len(const LinkSpec& link);

// The IPv4/IPv6 packet (no link header) of `seg`, checksums filled unless zero_checksums.
Bytes make_tcp_ip(const TcpSpec& seg);
// The full frame: link header + make_tcp_ip(seg).
Bytes make_tcp(const TcpSpec& seg, const LinkSpec& link = {});

// Wraps a network-layer packet of `ethertype` (0x0800, 0x86DD, 0x0806, ...) in `link`.
// Raw/Ipv4/Ipv6/Null/Loop links accept only IPv4 and IPv6 and no VLAN tags.
Bytes encapsulate(std::span<const uint8_t> l3, uint16_t ethertype, const LinkSpec& link = {});

// The TCP segment of `seg` (IPv4 only) split into IPv4 fragments carrying at most
// `fragment_bytes` of IP payload each (rounded down to a multiple of 8, at least 8).
// Element 0 is the first fragment (offset 0, MF set); the last has MF clear.
std::vector<Bytes> make_ipv4_fragments(const TcpSpec& seg, size_t fragment_bytes,
                                       const LinkSpec& link = {});
// Same for IPv6 (addresses must be IPv6): each fragment carries a fragment header (44).
std::vector<Bytes> make_ipv6_fragments(const TcpSpec& seg, size_t fragment_bytes,
                                       const LinkSpec& link = {});

// A UDP datagram (IPv4 or IPv6 by the address text).
struct UdpSpec {
    std::string src = "10.0.0.1";
    std::string dst = "10.0.0.2";
    uint16_t sport = 5353;
    uint16_t dport = 53;
    Bytes payload;
};
Bytes make_udp(const UdpSpec& spec, const LinkSpec& link = {});

// An ARP who-has request (Ethernet, LinuxSll, LinuxSll2 links only).
Bytes make_arp(std::string_view sender_ip = "10.0.0.1", std::string_view target_ip = "10.0.0.2",
               const LinkSpec& link = {});

// An ICMPv4 echo request (IPv4, protocol 1).
Bytes make_icmp_echo(std::string_view src = "10.0.0.1", std::string_view dst = "10.0.0.2",
                     const LinkSpec& link = {});

}  // namespace tcpr::test
