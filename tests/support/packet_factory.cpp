#include "support/packet_factory.h"

#include <algorithm>
#include <stdexcept>

#include <tins/arp.h>
#include <tins/hw_address.h>
#include <tins/icmp.h>
#include <tins/ip.h>
#include <tins/ip_address.h>
#include <tins/ipv6.h>
#include <tins/ipv6_address.h>
#include <tins/rawpdu.h>
#include <tins/tcp.h>
#include <tins/udp.h>

#include "common/net/ip_address.h"

namespace tcpr::test {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinQ = 0x88A8;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kIpv6Fragment = 44;

int family_of(const std::string& text) {
    const auto a = net::IpAddress::parse(text);
    if (!a) {
        throw std::invalid_argument("packet_factory: bad address '" + text + "'");
    }
    return a->version;
}

int family_of_pair(const std::string& src, const std::string& dst) {
    const int f = family_of(src);
    if (family_of(dst) != f) {
        throw std::invalid_argument("packet_factory: mixed address families " + src + " / " + dst);
    }
    return f;
}

void put16(Bytes& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
void append16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
uint16_t get16(const Bytes& b, size_t at) {
    return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}

// RFC 1071 Internet checksum.
uint16_t inet_checksum(const uint8_t* p, size_t n) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
    }
    if (n % 2 != 0) {
        sum += static_cast<uint32_t>(p[n - 1] << 8);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(~sum);
}

void fix_ipv4_checksum(Bytes& ip) {
    const size_t ihl = (ip[0] & 0x0f) * 4u;
    put16(ip, 10, 0);
    put16(ip, 10, inet_checksum(ip.data(), ihl));
}

// The IP/TCP packet as libtins serialises it: checksums filled, no options of ours.
Bytes serialize_tcp(const TcpSpec& seg, int family) {
    Tins::TCP tcp(seg.dport, seg.sport);
    tcp.seq(seg.seq);
    tcp.ack_seq(seg.ack);
    tcp.flags(seg.flags);
    tcp.window(seg.window);
    if (seg.mss) {
        tcp.mss(*seg.mss);
    }
    if (seg.window_scale) {
        tcp.winscale(*seg.window_scale);
    }
    if (!seg.payload.empty()) {
        tcp /= Tins::RawPDU(seg.payload);
    }
    if (family == 4) {
        Tins::IP ip(Tins::IPv4Address(seg.dst), Tins::IPv4Address(seg.src));
        ip.id(seg.ip_id);
        ip.ttl(seg.ttl);
        ip /= tcp;
        return ip.serialize();
    }
    Tins::IPv6 ip6(Tins::IPv6Address(seg.dst), Tins::IPv6Address(seg.src));
    ip6.hop_limit(seg.ttl);
    ip6 /= tcp;
    return ip6.serialize();
}

void splice_ipv4_options(Bytes& ip, const Bytes& options) {
    Bytes opts = options;
    while (opts.size() % 4 != 0) {
        opts.push_back(0);  // EOL
    }
    if (opts.size() > 40) {
        throw std::invalid_argument("packet_factory: IPv4 options longer than 40 bytes");
    }
    ip.insert(ip.begin() + 20, opts.begin(), opts.end());
    ip[0] = static_cast<uint8_t>(0x40 | ((20 + opts.size()) / 4));
    put16(ip, 2, static_cast<uint16_t>(get16(ip, 2) + opts.size()));
}

Bytes ipv6_ext_header(uint8_t type, uint8_t next) {
    switch (type) {
        case 0:   // hop-by-hop
        case 60:  // destination options: one PadN option filling the 6 free bytes
            return {next, 0, 1, 4, 0, 0, 0, 0};
        case 43:  // routing, type 0, segments left 0
            return {next, 0, 0, 0, 0, 0, 0, 0};
        case 44:  // fragment: offset 0, M set, identification 0x01020304
            return {next, 0, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04};
        case 51:  // AH: payload length = 16 / 4 - 2, SPI, sequence, 4-byte ICV
            return {next, 2, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd};
        default:
            throw std::invalid_argument("packet_factory: unsupported IPv6 extension header " +
                                        std::to_string(type));
    }
}

void splice_ipv6_ext_headers(Bytes& ip, const std::vector<uint8_t>& types) {
    Bytes chain;
    for (size_t i = 0; i < types.size(); ++i) {
        const uint8_t next = i + 1 < types.size() ? types[i + 1] : ip[6];
        const Bytes h = ipv6_ext_header(types[i], next);
        chain.insert(chain.end(), h.begin(), h.end());
    }
    if (!types.empty()) {
        ip[6] = types.front();
    }
    ip.insert(ip.begin() + 40, chain.begin(), chain.end());
    put16(ip, 4, static_cast<uint16_t>(get16(ip, 4) + chain.size()));
}

size_t ip_header_len(const Bytes& ip) {
    if ((ip[0] >> 4) == 4) {
        return (ip[0] & 0x0f) * 4u;
    }
    // IPv6: walk the chain we built.
    size_t off = 40;
    uint8_t next = ip[6];
    while (next != kProtoTcp) {
        const uint8_t len = ip[off + 1];
        const size_t hlen = next == 51              ? (len + 2u) * 4u
                            : next == kIpv6Fragment ? 8u
                                                    : (len + 1u) * 8u;
        next = ip[off];
        off += hlen;
    }
    return off;
}

Bytes build_l3(const TcpSpec& seg) {
    const int family = family_of_pair(seg.src, seg.dst);
    Bytes ip = serialize_tcp(seg, family);
    if (family == 4) {
        if (!seg.ipv6_ext_headers.empty()) {
            throw std::invalid_argument("packet_factory: IPv6 extension headers on IPv4");
        }
        if (!seg.ipv4_options.empty()) {
            splice_ipv4_options(ip, seg.ipv4_options);
        }
        if (seg.zero_ip_total_length) {
            put16(ip, 2, 0);
        }
        if (seg.zero_checksums) {
            put16(ip, 10, 0);
        } else {
            fix_ipv4_checksum(ip);
        }
    } else {
        if (!seg.ipv4_options.empty()) {
            throw std::invalid_argument("packet_factory: IPv4 options on IPv6");
        }
        splice_ipv6_ext_headers(ip, seg.ipv6_ext_headers);
        if (seg.zero_ip_total_length) {
            put16(ip, 4, 0);
        }
    }
    if (seg.zero_checksums) {
        put16(ip, ip_header_len(ip) + 16, 0);
    }
    return ip;
}

uint16_t ethertype_of(const Bytes& ip) { return (ip[0] >> 4) == 6 ? kEtherIpv6 : kEtherIpv4; }

}  // namespace

Bytes to_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes pattern_bytes(size_t n, uint8_t seed) {
    Bytes b(n);
    uint32_t x = 0x12345678u ^ (uint32_t{seed} * 0x9e3779b9u);
    for (size_t i = 0; i < n; ++i) {
        x = x * 1664525u + 1013904223u;  // LCG, deterministic across platforms
        b[i] = static_cast<uint8_t>(x >> 24);
    }
    return b;
}

size_t link_header_len(const LinkSpec& link) {
    const size_t tags = link.vlans.size() * 4;
    switch (link.link) {
        case net::LinkType::Ethernet:
            return 14 + tags;
        case net::LinkType::LinuxSll:
            return 16 + tags;
        case net::LinkType::LinuxSll2:
            return 20 + tags;
        case net::LinkType::Null:
        case net::LinkType::Loop:
            return 4;
        case net::LinkType::Raw:
        case net::LinkType::Ipv4:
        case net::LinkType::Ipv6:
            return 0;
    }
    throw std::invalid_argument("packet_factory: unknown link type");
}

Bytes encapsulate(std::span<const uint8_t> l3, uint16_t ethertype, const LinkSpec& link) {
    // The type chain: [tpid0][tci0][tpid1][tci1]...[ethertype]. Its first element goes into the
    // link header's protocol field; the rest follows the link header.
    std::vector<uint16_t> chain;
    for (size_t i = 0; i < link.vlans.size(); ++i) {
        const bool outer = link.vlans.size() >= 2 && i + 1 < link.vlans.size();
        chain.push_back(outer ? kEtherQinQ : kEtherVlan);
        chain.push_back(static_cast<uint16_t>(link.vlans[i] & 0x0fff));
    }
    chain.push_back(ethertype);

    Bytes out;
    const auto append_chain_rest = [&] {
        for (size_t i = 1; i < chain.size(); ++i) {
            append16(out, chain[i]);
        }
    };
    const bool ip = ethertype == kEtherIpv4 || ethertype == kEtherIpv6;
    const auto require_plain_ip = [&] {
        if (!link.vlans.empty() || !ip) {
            throw std::invalid_argument("packet_factory: link type " +
                                        net::link_type_name(static_cast<uint32_t>(link.link)) +
                                        " carries only untagged IPv4/IPv6");
        }
    };
    switch (link.link) {
        case net::LinkType::Ethernet:
            out.insert(out.end(), link.dst_mac.begin(), link.dst_mac.end());
            out.insert(out.end(), link.src_mac.begin(), link.src_mac.end());
            append16(out, chain[0]);
            append_chain_rest();
            break;
        case net::LinkType::LinuxSll:
            append16(out, 0);  // packet type: to us
            append16(out, 1);  // ARPHRD_ETHER
            append16(out, 6);  // address length
            out.insert(out.end(), link.src_mac.begin(), link.src_mac.end());
            append16(out, 0);  // address padding to 8 bytes
            append16(out, chain[0]);
            append_chain_rest();
            break;
        case net::LinkType::LinuxSll2:
            append16(out, chain[0]);
            append16(out, 0);  // reserved
            append16(out, 0);  // interface index (32 bits) = 1
            append16(out, 1);
            append16(out, 1);  // ARPHRD_ETHER
            out.push_back(0);  // packet type: to us
            out.push_back(6);  // address length
            out.insert(out.end(), link.src_mac.begin(), link.src_mac.end());
            append16(out, 0);
            append_chain_rest();
            break;
        case net::LinkType::Null: {
            require_plain_ip();
            // Host byte order as written on the capturing host; we write little-endian
            // (x86), AF_INET = 2, AF_INET6 = 30 (macOS).
            const uint8_t af = ethertype == kEtherIpv6 ? 30 : 2;
            out = {af, 0, 0, 0};
            break;
        }
        case net::LinkType::Loop: {
            require_plain_ip();
            const uint8_t af = ethertype == kEtherIpv6 ? 24 : 2;  // OpenBSD values
            out = {0, 0, 0, af};
            break;
        }
        case net::LinkType::Raw:
        case net::LinkType::Ipv4:
        case net::LinkType::Ipv6:
            require_plain_ip();
            break;
    }
    out.insert(out.end(), l3.begin(), l3.end());
    return out;
}

Bytes make_tcp_ip(const TcpSpec& seg) { return build_l3(seg); }

Bytes make_tcp(const TcpSpec& seg, const LinkSpec& link) {
    const Bytes ip = build_l3(seg);
    return encapsulate(ip, ethertype_of(ip), link);
}

std::vector<Bytes> make_ipv4_fragments(const TcpSpec& seg, size_t fragment_bytes,
                                       const LinkSpec& link) {
    if (family_of_pair(seg.src, seg.dst) != 4) {
        throw std::invalid_argument("make_ipv4_fragments: IPv4 addresses required");
    }
    TcpSpec whole = seg;
    whole.zero_ip_total_length = false;
    const Bytes ip = build_l3(whole);
    const size_t ihl = (ip[0] & 0x0f) * 4u;
    const size_t step = std::max<size_t>(8, fragment_bytes / 8 * 8);
    const size_t body = ip.size() - ihl;
    std::vector<Bytes> out;
    for (size_t off = 0; off < body; off += step) {
        const size_t n = std::min(step, body - off);
        Bytes frag(ip.begin(), ip.begin() + static_cast<std::ptrdiff_t>(ihl));
        frag.insert(frag.end(), ip.begin() + static_cast<std::ptrdiff_t>(ihl + off),
                    ip.begin() + static_cast<std::ptrdiff_t>(ihl + off + n));
        put16(frag, 2, static_cast<uint16_t>(frag.size()));
        const bool more = off + n < body;
        put16(frag, 6, static_cast<uint16_t>((more ? 0x2000 : 0) | (off / 8)));
        if (seg.zero_checksums) {
            put16(frag, 10, 0);
        } else {
            fix_ipv4_checksum(frag);
        }
        out.push_back(encapsulate(frag, kEtherIpv4, link));
    }
    return out;
}

std::vector<Bytes> make_ipv6_fragments(const TcpSpec& seg, size_t fragment_bytes,
                                       const LinkSpec& link) {
    if (family_of_pair(seg.src, seg.dst) != 6) {
        throw std::invalid_argument("make_ipv6_fragments: IPv6 addresses required");
    }
    if (!seg.ipv6_ext_headers.empty()) {
        throw std::invalid_argument("make_ipv6_fragments: extension headers not supported");
    }
    TcpSpec whole = seg;
    whole.zero_ip_total_length = false;
    const Bytes ip = build_l3(whole);
    const size_t step = std::max<size_t>(8, fragment_bytes / 8 * 8);
    const size_t body = ip.size() - 40;
    std::vector<Bytes> out;
    for (size_t off = 0; off < body; off += step) {
        const size_t n = std::min(step, body - off);
        const bool more = off + n < body;
        Bytes frag(ip.begin(), ip.begin() + 40);
        frag[6] = kIpv6Fragment;
        const uint16_t off_flags = static_cast<uint16_t>((off / 8) << 3 | (more ? 1 : 0));
        const Bytes fh = {kProtoTcp,
                          0,
                          static_cast<uint8_t>(off_flags >> 8),
                          static_cast<uint8_t>(off_flags),
                          0x01,
                          0x02,
                          0x03,
                          0x04};
        frag.insert(frag.end(), fh.begin(), fh.end());
        frag.insert(frag.end(), ip.begin() + static_cast<std::ptrdiff_t>(40 + off),
                    ip.begin() + static_cast<std::ptrdiff_t>(40 + off + n));
        put16(frag, 4, static_cast<uint16_t>(frag.size() - 40));
        out.push_back(encapsulate(frag, kEtherIpv6, link));
    }
    return out;
}

Bytes make_udp(const UdpSpec& spec, const LinkSpec& link) {
    const int family = family_of_pair(spec.src, spec.dst);
    Tins::UDP udp(spec.dport, spec.sport);
    if (!spec.payload.empty()) {
        udp /= Tins::RawPDU(spec.payload);
    }
    Bytes ip;
    if (family == 4) {
        Tins::IP pkt(Tins::IPv4Address(spec.dst), Tins::IPv4Address(spec.src));
        pkt /= udp;
        ip = pkt.serialize();
    } else {
        Tins::IPv6 pkt(Tins::IPv6Address(spec.dst), Tins::IPv6Address(spec.src));
        pkt /= udp;
        ip = pkt.serialize();
    }
    return encapsulate(ip, ethertype_of(ip), link);
}

Bytes make_arp(std::string_view sender_ip, std::string_view target_ip, const LinkSpec& link) {
    const Tins::HWAddress<6> sender_hw(link.src_mac.begin());
    Tins::ARP arp{Tins::IPv4Address{std::string(target_ip)},
                  Tins::IPv4Address{std::string(sender_ip)}, Tins::HWAddress<6>{}, sender_hw};
    arp.opcode(Tins::ARP::REQUEST);
    const Bytes body = arp.serialize();
    return encapsulate(body, 0x0806, link);
}

Bytes make_icmp_echo(std::string_view src, std::string_view dst, const LinkSpec& link) {
    if (family_of_pair(std::string(src), std::string(dst)) != 4) {
        throw std::invalid_argument("make_icmp_echo: IPv4 addresses required");
    }
    Tins::IP pkt{Tins::IPv4Address{std::string(dst)}, Tins::IPv4Address{std::string(src)}};
    Tins::ICMP icmp(Tins::ICMP::ECHO_REQUEST);
    icmp.id(1);
    icmp.sequence(1);
    pkt /= icmp;
    const Bytes ip = pkt.serialize();
    return encapsulate(ip, kEtherIpv4, link);
}

}  // namespace tcpr::test
