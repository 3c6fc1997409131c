// mix64: the splitmix64 finaliser, a well-mixed 64-bit hash of one word. One definition for
// hash tables (net::FlowKeyHash), per-session sampling decisions and the raw transport's ISNs.
#pragma once

#include <cstdint>

namespace tcpr {

constexpr uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

}  // namespace tcpr
