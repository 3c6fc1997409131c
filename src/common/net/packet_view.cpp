#include "common/net/packet_view.h"

#include <algorithm>

namespace tcpr::net {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinQ = 0x88A8;
constexpr uint16_t kEtherQinQOld = 0x9100;
constexpr uint8_t kProtoTcp = 6;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Where the link header says the network layer starts and which protocol it is.
struct L3Start {
    uint32_t offset;
    int ip_version;  // 4, 6, 0 = unknown from link (look at first nibble), -1 = not IP
};

// A header length that exceeds the IP length is Malformed when the IP length came from the IP
// header, but Truncated when it was taken from the frame's end (IP length 0: TSO/GSO capture),
// since then it is the capture that ends early.
SkipReason too_long(bool length_from_frame) {
    return length_from_frame ? SkipReason::Truncated : SkipReason::Malformed;
}

DecodeResult decode_tcp(std::span<const uint8_t> b, PacketView v, uint32_t l4, uint32_t l4_end,
                        bool length_from_frame) {
    // l4_end: end of the TCP segment per the IP header, clipped to nothing (may exceed b.size()).
    if (l4 + 20 > b.size()) {
        return SkipReason::Truncated;
    }
    if (l4 + 20 > l4_end) {
        return SkipReason::Malformed;
    }
    const uint8_t* t = b.data() + l4;
    const uint32_t doff = (t[12] >> 4) * 4u;
    if (doff < 20) {
        return SkipReason::Malformed;
    }
    if (l4 + doff > l4_end) {
        return too_long(length_from_frame);
    }
    if (l4 + doff > b.size()) {
        return SkipReason::Truncated;
    }
    v.l4_offset = l4;
    v.sport = be16(t);
    v.dport = be16(t + 2);
    v.seq = be32(t + 4);
    v.ack = be32(t + 8);
    v.flags = t[13] & 0x3f;
    v.window = be16(t + 14);
    v.tcp_header_len = static_cast<uint8_t>(doff);
    v.payload_offset = l4 + doff;
    v.payload_len = l4_end - v.payload_offset;
    const uint32_t present = b.size() > v.payload_offset ? b.size() - v.payload_offset : 0;
    v.captured_payload = present < v.payload_len ? present : v.payload_len;
    return v;
}

DecodeResult decode_ipv4(std::span<const uint8_t> b, PacketView v, uint32_t l3) {
    if (l3 + 20 > b.size()) {
        return SkipReason::Truncated;
    }
    const uint8_t* ip = b.data() + l3;
    if ((ip[0] >> 4) != 4) {
        return SkipReason::Malformed;
    }
    const uint32_t ihl = (ip[0] & 0x0f) * 4u;
    if (ihl < 20) {
        return SkipReason::Malformed;
    }
    uint32_t total = be16(ip + 2);
    const bool length_from_frame = total == 0;
    if (length_from_frame) {
        // TSO/GSO on the capturing host: the length is left for the NIC. Use the frame.
        total = static_cast<uint32_t>(b.size()) - l3;
    }
    if (total < ihl) {
        return too_long(length_from_frame);
    }
    const uint16_t frag = be16(ip + 6);
    if ((frag & 0x2000) || (frag & 0x1fff)) {  // MF set or non-zero offset
        return SkipReason::Fragment;
    }
    if (ip[9] != kProtoTcp) {
        return SkipReason::NotTcp;
    }
    if (l3 + ihl > b.size()) {
        return SkipReason::Truncated;
    }
    v.l3_offset = l3;
    v.ip_len = total;
    v.src = IpAddress::v4_bytes(ip + 12);
    v.dst = IpAddress::v4_bytes(ip + 16);
    return decode_tcp(b, v, l3 + ihl, l3 + total, length_from_frame);
}

DecodeResult decode_ipv6(std::span<const uint8_t> b, PacketView v, uint32_t l3) {
    if (l3 + 40 > b.size()) {
        return SkipReason::Truncated;
    }
    const uint8_t* ip = b.data() + l3;
    if ((ip[0] >> 4) != 6) {
        return SkipReason::Malformed;
    }
    uint32_t plen = be16(ip + 4);
    const bool length_from_frame = plen == 0;
    if (length_from_frame) {
        // Jumbogram or GSO capture: take the frame's length.
        plen = static_cast<uint32_t>(b.size()) - l3 - 40;
    }
    const uint32_t end = l3 + 40 + plen;
    uint8_t next = ip[6];
    uint32_t off = l3 + 40;
    // RFC 8200 §4: walk extension headers until TCP or something we do not replay.
    for (int guard = 0; guard < 16; ++guard) {
        switch (next) {
            case kProtoTcp:
                v.l3_offset = l3;
                v.ip_len = 40 + plen;
                v.src = IpAddress::v6_bytes(ip + 8);
                v.dst = IpAddress::v6_bytes(ip + 24);
                return decode_tcp(b, v, off, end, length_from_frame);
            case 44:  // Fragment header
                return SkipReason::Fragment;
            case 0:   // Hop-by-hop
            case 43:  // Routing
            case 60:  // Destination options
            {
                if (off + 8 > b.size()) {
                    return SkipReason::Truncated;
                }
                const uint32_t len = (b[off + 1] + 1u) * 8u;
                next = b[off];
                off += len;
                if (off > end) {
                    return too_long(length_from_frame);
                }
                break;
            }
            case 51: {  // AH: length in 4-byte units minus 2
                if (off + 8 > b.size()) {
                    return SkipReason::Truncated;
                }
                const uint32_t len = (b[off + 1] + 2u) * 4u;
                next = b[off];
                off += len;
                if (off > end) {
                    return too_long(length_from_frame);
                }
                break;
            }
            default:
                return SkipReason::NotTcp;
        }
    }
    return SkipReason::Malformed;
}

DecodeResult decode_ip(std::span<const uint8_t> b, PacketView v, uint32_t l3, int version) {
    if (version == 0) {
        if (l3 >= b.size()) {
            return SkipReason::Truncated;
        }
        version = b[l3] >> 4;
    }
    if (version == 4) {
        return decode_ipv4(b, v, l3);
    }
    if (version == 6) {
        return decode_ipv6(b, v, l3);
    }
    return SkipReason::NotIp;
}

// Ethertype dispatch shared by Ethernet, SLL and SLL2 (which carry VLAN tags un-stripped
// when the kernel did not offload them).
DecodeResult decode_ethertype(std::span<const uint8_t> b, PacketView v, uint16_t type,
                              uint32_t off) {
    while (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld) {
        if (off + 4 > b.size()) {
            return SkipReason::Truncated;
        }
        v.vlan_id = be16(b.data() + off) & 0x0fff;
        ++v.vlan_depth;
        type = be16(b.data() + off + 2);
        off += 4;
        if (v.vlan_depth > 4) {
            return SkipReason::Malformed;
        }
    }
    if (type == kEtherIpv4) {
        return decode_ip(b, v, off, 4);
    }
    if (type == kEtherIpv6) {
        return decode_ip(b, v, off, 6);
    }
    return SkipReason::NotIp;
}

}  // namespace

DecodeResult decode(LinkType link, std::span<const uint8_t> b) {
    PacketView v;
    switch (link) {
        case LinkType::Ethernet:
            if (b.size() < 14) {
                return SkipReason::Truncated;
            }
            return decode_ethertype(b, v, be16(b.data() + 12), 14);
        case LinkType::LinuxSll:
            if (b.size() < 16) {
                return SkipReason::Truncated;
            }
            return decode_ethertype(b, v, be16(b.data() + 14), 16);
        case LinkType::LinuxSll2:
            if (b.size() < 20) {
                return SkipReason::Truncated;
            }
            return decode_ethertype(b, v, be16(b.data()), 20);
        case LinkType::Raw:
            return decode_ip(b, v, 0, 0);
        case LinkType::Ipv4:
            return decode_ip(b, v, 0, 4);
        case LinkType::Ipv6:
            return decode_ip(b, v, 0, 6);
        case LinkType::Null:
        case LinkType::Loop: {
            if (b.size() < 4) {
                return SkipReason::Truncated;
            }
            // AF_INET is 2 everywhere; AF_INET6 is 10/24/28/30 depending on the OS. The header's
            // byte order depends on the writer, so look at the IP version nibble instead.
            return decode_ip(b, v, 4, 0);
        }
    }
    return SkipReason::UnsupportedLink;
}

DecodeResult decode(uint32_t link_value, std::span<const uint8_t> bytes) {
    const auto link = link_type_from_value(link_value);
    if (!link) {
        return SkipReason::UnsupportedLink;
    }
    return decode(*link, bytes);
}

TcpOptions parse_tcp_options(std::span<const uint8_t> opt) {
    TcpOptions r;
    size_t i = 0;
    while (i < opt.size()) {
        const uint8_t kind = opt[i];
        if (kind == 0) {  // end of option list
            break;
        }
        if (kind == 1) {  // no-op
            ++i;
            continue;
        }
        if (i + 1 >= opt.size()) {
            break;
        }
        const uint8_t len = opt[i + 1];
        if (len < 2 || i + len > opt.size()) {
            break;
        }
        if (kind == 2 && len == 4) {
            r.mss = static_cast<uint16_t>((opt[i + 2] << 8) | opt[i + 3]);
        } else if (kind == 3 && len == 3) {
            r.window_scale = opt[i + 2];
        }
        i += len;
    }
    return r;
}

TcpOptions tcp_options_of(const PacketView& v, std::span<const uint8_t> frame) {
    const size_t begin = size_t{v.l4_offset} + 20;
    const size_t end = std::min(size_t{v.l4_offset} + v.tcp_header_len, frame.size());
    if (begin >= end) {
        return TcpOptions{};
    }
    return parse_tcp_options(frame.subspan(begin, end - begin));
}

}  // namespace tcpr::net
