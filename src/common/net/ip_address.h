// IPv4/IPv6 address as a plain value (network byte order bytes), comparable and hashable.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>

namespace tcpr::net {

struct IpAddress {
    uint8_t version = 4;              // 4 or 6
    std::array<uint8_t, 16> bytes{};  // IPv4 uses bytes[0..3], the rest stay zero

    static IpAddress v4(uint32_t host_order);
    static IpAddress v4_bytes(const uint8_t* p);
    static IpAddress v6_bytes(const uint8_t* p);
    // Parses dotted quad or RFC 4291 text (no zone ids). nullopt on bad text.
    static std::optional<IpAddress> parse(const std::string& text);

    uint32_t v4_host_order() const;
    std::string to_string() const;
    auto operator<=>(const IpAddress&) const = default;
};

}  // namespace tcpr::net
