// Why a captured packet could not be used. Counted, never logged per packet.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace tcpr::net {

enum class SkipReason : uint8_t {
    Truncated,        // captured bytes end inside a link/IP/TCP header (snaplen or damage)
    UnsupportedLink,  // link type we cannot decode
    NotIp,            // link payload is not IPv4/IPv6 (ARP, LLDP, ...)
    NotTcp,           // IP payload is not TCP (UDP, ICMP, ...)
    Fragment,         // IPv4/IPv6 fragment: cannot be replayed as a TCP segment
    Malformed,        // inconsistent header fields (bad IHL, data offset, lengths)
    OutsideFilter,    // decoded fine but not selected (e.g. not the recorded port)
    kCount
};

constexpr int kSkipReasonCount = static_cast<int>(SkipReason::kCount);

// Stable lower-case name used in summaries and reports ("truncated", "not-tcp", ...).
const char* to_string(SkipReason reason);

// Skip counters and their one-line summary ("not-tcp=9 truncated=3").
struct SkipCounts {
    std::array<uint64_t, kSkipReasonCount> by_reason{};

    void count(SkipReason r) { ++by_reason[static_cast<int>(r)]; }
    uint64_t total() const;
    uint64_t of(SkipReason r) const { return by_reason[static_cast<int>(r)]; }
    // "not-tcp=9 truncated=3"; empty when nothing was skipped.
    std::string breakdown() const;
    SkipCounts& operator+=(const SkipCounts& o);
};

}  // namespace tcpr::net
