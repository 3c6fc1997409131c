// Builds IPv4/IPv6 + TCP packets (no link header) with every checksum computed here, as a raw
// socket with IP_HDRINCL or a link-layer injector needs them. Pure, no OS, no libtins.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/net/flow_key.h"

namespace tcpr::net {

struct TcpSegmentSpec {
    Endpoint src, dst;  // same address family
    uint32_t seq = 0, ack = 0;
    uint8_t flags = 0;            // tcp_flags::*
    uint16_t window = 0;          // the raw header field (already scaled down)
    uint16_t mss = 0;             // MSS option when non-zero (SYN segments)
    uint8_t window_scale = 0xff;  // window scale option when <= 14 (SYN segments)
    bool sack_permitted = false;  // SACK-permitted option (SYN segments)
    std::span<const uint8_t> payload;
    uint16_t ip_id = 0;  // IPv4 identification
    uint8_t ttl = 64;    // IPv4 TTL / IPv6 hop limit
};

constexpr size_t kIpv4HeaderBytes = 20;
constexpr size_t kIpv6HeaderBytes = 40;
constexpr size_t kTcpHeaderBytes = 20;

// Bytes the packet of `spec` occupies (IP header + TCP header with options + payload).
size_t tcp_packet_size(const TcpSegmentSpec& spec);

// Appends the packet to `out` and returns its size. IPv4: DF set, no IP options.
size_t build_tcp_packet(const TcpSegmentSpec& spec, std::vector<uint8_t>& out);

// The destination address and TCP port of an IPv4/IPv6 packet as built above (no extension
// headers expected; IPv6 extension headers are walked). False if `packet` is not a complete
// enough IPv4/IPv6 TCP packet to tell.
bool tcp_destination(std::span<const uint8_t> packet, Endpoint& dst);

}  // namespace tcpr::net
