// TCP sequence numbers are modular (RFC 1982 serial arithmetic, RFC 793 §3.3).
#pragma once

#include <cstdint>

namespace tcpr::net {

constexpr int32_t seq_diff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }
constexpr bool seq_lt(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
constexpr bool seq_le(uint32_t a, uint32_t b) { return seq_diff(a, b) <= 0; }
constexpr bool seq_gt(uint32_t a, uint32_t b) { return seq_diff(a, b) > 0; }
constexpr bool seq_ge(uint32_t a, uint32_t b) { return seq_diff(a, b) >= 0; }
constexpr uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }

}  // namespace tcpr::net
