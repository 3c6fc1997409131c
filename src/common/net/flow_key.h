// TCP endpoints and the canonical bidirectional flow key. Equality compares every field;
// the hash only picks the bucket (never key sessions by a hash alone).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/net/ip_address.h"

namespace tcpr::net {

struct Endpoint {
    IpAddress addr;
    uint16_t port = 0;
    auto operator<=>(const Endpoint&) const = default;
    std::string to_string() const;  // "10.0.0.1:80", "[::1]:80"
};

// Canonical: lo <= hi, so both directions of a connection share one key.
struct FlowKey {
    Endpoint lo, hi;
    static FlowKey of(const Endpoint& a, const Endpoint& b) {
        return a <= b ? FlowKey{a, b} : FlowKey{b, a};
    }
    bool operator==(const FlowKey&) const = default;
};

struct EndpointHash {
    size_t operator()(const Endpoint& e) const noexcept;
};
struct FlowKeyHash {
    size_t operator()(const FlowKey& k) const noexcept;
};

}  // namespace tcpr::net
