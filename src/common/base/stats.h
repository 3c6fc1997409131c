// Skip counters and their one-line summary ("skipped 12 of 10482 packets: not-tcp=9 truncated=3").
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/net/skip_reason.h"

namespace tcpr {

struct SkipCounts {
    std::array<uint64_t, net::kSkipReasonCount> by_reason{};

    void count(net::SkipReason r) { ++by_reason[static_cast<int>(r)]; }
    uint64_t total() const;
    uint64_t of(net::SkipReason r) const { return by_reason[static_cast<int>(r)]; }
    // "not-tcp=9 truncated=3"; empty when nothing was skipped.
    std::string breakdown() const;
    SkipCounts& operator+=(const SkipCounts& o);
};

// "1.5 MiB", "12.0 GiB"
std::string human_bytes(uint64_t n);

}  // namespace tcpr
