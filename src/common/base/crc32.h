// CRC-32 (IEEE 802.3, as in zlib/gzip), used to protect archive metadata.
#pragma once

#include <cstdint>
#include <span>

namespace tcpr {

// crc32(data) == crc32_update(0, data). Pure, thread safe.
uint32_t crc32_update(uint32_t crc, std::span<const uint8_t> data);
inline uint32_t crc32(std::span<const uint8_t> data) { return crc32_update(0, data); }

}  // namespace tcpr
