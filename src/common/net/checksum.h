// The Internet checksum (RFC 1071) for IPv4 headers and TCP over IPv4/IPv6, and its incremental
// update (RFC 1624) for rewriting fields in place. Pure arithmetic, no OS.
#pragma once

#include <cstdint>
#include <span>

#include "common/net/ip_address.h"

namespace tcpr::net {

// One's-complement sum of `bytes` (as big-endian 16-bit words; an odd last byte is padded with
// zero) added to `sum`. Not folded: pass the result to checksum_fold().
uint32_t checksum_add(uint32_t sum, std::span<const uint8_t> bytes);
// Folds a 32-bit partial sum to 16 bits and complements it: the value to store in a header.
uint16_t checksum_fold(uint32_t sum);

// The checksum of an IPv4 header (its checksum field must be zero or is treated as data: pass
// the header with the field zeroed to compute, or as received to verify: 0 means valid).
uint16_t ipv4_header_checksum(std::span<const uint8_t> header);

// The TCP checksum over the pseudo-header (src, dst, protocol 6, length) and `segment` (TCP
// header + payload, with its checksum field zeroed). src and dst must be the same family.
uint16_t tcp_checksum(const IpAddress& src, const IpAddress& dst, std::span<const uint8_t> segment);

// RFC 1624 eqn. 3: the new checksum after a 16-bit field changed from old_value to new_value.
uint16_t checksum_update16(uint16_t checksum, uint16_t old_value, uint16_t new_value);
// Same for a 32-bit field (sequence and acknowledgment numbers, IPv4 addresses).
uint16_t checksum_update32(uint16_t checksum, uint32_t old_value, uint32_t new_value);

}  // namespace tcpr::net
