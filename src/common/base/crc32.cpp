#include "common/base/crc32.h"

#include <array>

namespace tcpr {
namespace {
constexpr std::array<uint32_t, 256> make_table() {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        t[i] = c;
    }
    return t;
}
constexpr auto kTable = make_table();
}  // namespace

uint32_t crc32_update(uint32_t crc, std::span<const uint8_t> data) {
    crc = ~crc;
    for (uint8_t b : data) {
        crc = kTable[(crc ^ b) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

}  // namespace tcpr
