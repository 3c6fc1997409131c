// Zero-copy decoding of one captured frame down to its TCP segment.
// decode() never reads outside `bytes` and never throws: it returns a PacketView or a SkipReason.
#pragma once

#include <cstdint>
#include <span>
#include <variant>

#include "common/net/ip_address.h"
#include "common/net/link_type.h"
#include "common/net/skip_reason.h"

namespace tcpr::net {

namespace tcp_flags {
constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kUrg = 0x20;
}  // namespace tcp_flags

// Offsets are into the captured frame. All numeric fields are host order.
struct PacketView {
    uint32_t l3_offset = 0;       // first byte of the IP header
    uint32_t l4_offset = 0;       // first byte of the TCP header
    uint32_t payload_offset = 0;  // first byte of TCP payload
    uint32_t payload_len = 0;     // payload length per the IP header (may exceed what was captured)
    uint32_t captured_payload = 0;  // payload bytes actually present in the frame
    uint32_t ip_len = 0;            // IP packet length (header + payload) per the IP header
    IpAddress src, dst;
    uint16_t sport = 0, dport = 0;
    uint32_t seq = 0, ack = 0;
    uint16_t window = 0;
    uint8_t flags = 0;  // tcp_flags::*
    uint8_t tcp_header_len = 0;
    uint16_t vlan_id = 0;    // innermost 802.1Q VID, 0 if untagged
    uint8_t vlan_depth = 0;  // number of VLAN tags

    bool syn() const { return flags & tcp_flags::kSyn; }
    bool ack_flag() const { return flags & tcp_flags::kAck; }
    bool fin() const { return flags & tcp_flags::kFin; }
    bool rst() const { return flags & tcp_flags::kRst; }
    bool payload_truncated() const { return captured_payload < payload_len; }
};

class DecodeResult {
  public:
    DecodeResult(PacketView v) : v_(v) {}  // NOLINT: implicit by design
    DecodeResult(SkipReason r) : v_(r) {}  // NOLINT
    bool ok() const { return std::holds_alternative<PacketView>(v_); }
    const PacketView& packet() const { return std::get<PacketView>(v_); }
    SkipReason reason() const { return std::get<SkipReason>(v_); }

  private:
    std::variant<PacketView, SkipReason> v_;
};

// Decodes `bytes` (the captured part of a frame of link type `link`, as a pcap record holds it).
// An IPv4 total length of 0 (TSO/GSO capture on the sending host) is read as "up to the
// frame's end". Checksums are not verified: offloaded captures leave them unfilled.
DecodeResult decode(LinkType link, std::span<const uint8_t> bytes);

// The handshake options of a TCP header (RFC 9293 §3.2 MSS, RFC 7323 §2.2 window scale).
struct TcpOptions {
    uint16_t mss = 0;             // 0 = absent
    uint8_t window_scale = 0xff;  // 0xff = absent
};

// Parses TCP option bytes (after the 20-byte fixed header). Stops quietly at a damaged option
// (a length running past the end or below 2): what was parsed before it is kept.
TcpOptions parse_tcp_options(std::span<const uint8_t> options);
// The options of the decoded segment `v` inside `frame` (the bytes decode() saw).
TcpOptions tcp_options_of(const PacketView& v, std::span<const uint8_t> frame);

// Same, for a raw link-type value that may be unsupported (-> SkipReason::UnsupportedLink).
DecodeResult decode(uint32_t link_value, std::span<const uint8_t> bytes);

}  // namespace tcpr::net
