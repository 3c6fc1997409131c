#include "common/net/checksum.h"

namespace tcpr::net {

uint32_t checksum_add(uint32_t sum, std::span<const uint8_t> bytes) {
    uint64_t s = sum;
    size_t i = 0;
    const size_t n = bytes.size();
    for (; i + 1 < n; i += 2) {
        s += (uint32_t{bytes[i]} << 8) | bytes[i + 1];
    }
    if (i < n) {
        s += uint32_t{bytes[i]} << 8;
    }
    while (s >> 32) {
        s = (s & 0xffffffffu) + (s >> 32);
    }
    return static_cast<uint32_t>(s);
}

uint16_t checksum_fold(uint32_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xffffu) + (sum >> 16);
    }
    return static_cast<uint16_t>(~sum & 0xffffu);
}

uint16_t ipv4_header_checksum(std::span<const uint8_t> header) {
    return checksum_fold(checksum_add(0, header));
}

uint16_t tcp_checksum(const IpAddress& src, const IpAddress& dst,
                      std::span<const uint8_t> segment) {
    const size_t addr_len = src.version == 6 ? 16 : 4;
    uint32_t sum = checksum_add(0, std::span<const uint8_t>(src.bytes.data(), addr_len));
    sum = checksum_add(sum, std::span<const uint8_t>(dst.bytes.data(), addr_len));
    const uint32_t len = static_cast<uint32_t>(segment.size());
    // Pseudo-header: protocol (6) and length; IPv6 uses a 32-bit length (RFC 8200 §8.1).
    sum += 6;
    sum += len >> 16;
    sum += len & 0xffffu;
    sum = checksum_add(sum, segment);
    const uint16_t c = checksum_fold(sum);
    return c;
}

uint16_t checksum_update16(uint16_t checksum, uint16_t old_value, uint16_t new_value) {
    // HC' = ~(~HC + ~m + m')
    uint32_t sum = static_cast<uint16_t>(~checksum);
    sum += static_cast<uint16_t>(~old_value);
    sum += new_value;
    return checksum_fold(sum);
}

uint16_t checksum_update32(uint16_t checksum, uint32_t old_value, uint32_t new_value) {
    checksum = checksum_update16(checksum, static_cast<uint16_t>(old_value >> 16),
                                 static_cast<uint16_t>(new_value >> 16));
    return checksum_update16(checksum, static_cast<uint16_t>(old_value & 0xffffu),
                             static_cast<uint16_t>(new_value & 0xffffu));
}

}  // namespace tcpr::net
