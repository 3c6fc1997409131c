#include "common/net/packet_builder.h"

#include <cstring>

#include "common/net/checksum.h"

namespace tcpr::net {
namespace {

size_t options_size(const TcpSegmentSpec& s) {
    size_t n = 0;
    if (s.mss != 0) {
        n += 4;
    }
    if (s.window_scale <= 14) {
        n += 4;  // NOP + WS(3)
    }
    if (s.sack_permitted) {
        n += 4;  // NOP NOP + SACK_PERM(2)
    }
    return n;
}

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

}  // namespace

size_t tcp_packet_size(const TcpSegmentSpec& spec) {
    const size_t ip = spec.src.addr.version == 6 ? kIpv6HeaderBytes : kIpv4HeaderBytes;
    return ip + kTcpHeaderBytes + options_size(spec) + spec.payload.size();
}

size_t build_tcp_packet(const TcpSegmentSpec& s, std::vector<uint8_t>& out) {
    const bool v6 = s.src.addr.version == 6;
    const size_t ip_len = v6 ? kIpv6HeaderBytes : kIpv4HeaderBytes;
    const size_t tcp_len = kTcpHeaderBytes + options_size(s);
    const size_t total = ip_len + tcp_len + s.payload.size();
    const size_t start = out.size();
    out.resize(start + total);
    uint8_t* p = out.data() + start;
    std::memset(p, 0, ip_len + tcp_len);

    if (v6) {
        p[0] = 0x60;
        put16(p + 4, static_cast<uint16_t>(tcp_len + s.payload.size()));
        p[6] = 6;  // next header: TCP
        p[7] = s.ttl;
        std::memcpy(p + 8, s.src.addr.bytes.data(), 16);
        std::memcpy(p + 24, s.dst.addr.bytes.data(), 16);
    } else {
        p[0] = 0x45;
        put16(p + 2, static_cast<uint16_t>(total));
        put16(p + 4, s.ip_id);
        p[6] = 0x40;  // DF
        p[8] = s.ttl;
        p[9] = 6;
        std::memcpy(p + 12, s.src.addr.bytes.data(), 4);
        std::memcpy(p + 16, s.dst.addr.bytes.data(), 4);
        put16(p + 10, ipv4_header_checksum(std::span<const uint8_t>(p, kIpv4HeaderBytes)));
    }

    uint8_t* t = p + ip_len;
    put16(t, s.src.port);
    put16(t + 2, s.dst.port);
    put32(t + 4, s.seq);
    put32(t + 8, s.ack);
    t[12] = static_cast<uint8_t>((tcp_len / 4) << 4);
    t[13] = s.flags;
    put16(t + 14, s.window);
    uint8_t* o = t + kTcpHeaderBytes;
    if (s.mss != 0) {
        o[0] = 2;
        o[1] = 4;
        put16(o + 2, s.mss);
        o += 4;
    }
    if (s.window_scale <= 14) {
        o[0] = 1;
        o[1] = 3;
        o[2] = 3;
        o[3] = s.window_scale;
        o += 4;
    }
    if (s.sack_permitted) {
        o[0] = 1;
        o[1] = 1;
        o[2] = 4;
        o[3] = 2;
        o += 4;
    }
    if (!s.payload.empty()) {
        std::memcpy(t + tcp_len, s.payload.data(), s.payload.size());
    }
    const auto segment = std::span<const uint8_t>(t, tcp_len + s.payload.size());
    put16(t + 16, tcp_checksum(s.src.addr, s.dst.addr, segment));
    return total;
}

bool tcp_destination(std::span<const uint8_t> packet, Endpoint& dst) {
    if (packet.empty()) {
        return false;
    }
    const uint8_t* p = packet.data();
    const uint8_t version = p[0] >> 4;
    size_t l4 = 0;
    if (version == 4) {
        if (packet.size() < kIpv4HeaderBytes) {
            return false;
        }
        const size_t ihl = (p[0] & 0x0f) * 4u;
        if (ihl < kIpv4HeaderBytes || p[9] != 6 || (be16(p + 6) & 0x3fff) != 0) {
            return false;  // not TCP, or a fragment (only the first one has the port)
        }
        dst.addr = IpAddress::v4_bytes(p + 16);
        l4 = ihl;
    } else if (version == 6) {
        if (packet.size() < kIpv6HeaderBytes) {
            return false;
        }
        dst.addr = IpAddress::v6_bytes(p + 24);
        uint8_t next = p[6];
        l4 = kIpv6HeaderBytes;
        for (int guard = 0; next != 6; ++guard) {
            if (guard >= 8 || !(next == 0 || next == 43 || next == 60) || l4 + 8 > packet.size()) {
                return false;
            }
            next = p[l4];
            l4 += (p[l4 + 1] + 1u) * 8u;
        }
    } else {
        return false;
    }
    if (l4 + 4 > packet.size()) {
        return false;
    }
    dst.port = be16(p + l4 + 2);
    return true;
}

}  // namespace tcpr::net
