#include "common/net/ip_address.h"

#include <arpa/inet.h>
#include <cstring>

namespace tcpr::net {

IpAddress IpAddress::v4(uint32_t host_order) {
    IpAddress a;
    a.version = 4;
    a.bytes[0] = static_cast<uint8_t>(host_order >> 24);
    a.bytes[1] = static_cast<uint8_t>(host_order >> 16);
    a.bytes[2] = static_cast<uint8_t>(host_order >> 8);
    a.bytes[3] = static_cast<uint8_t>(host_order);
    return a;
}

IpAddress IpAddress::v4_bytes(const uint8_t* p) {
    IpAddress a;
    a.version = 4;
    std::memcpy(a.bytes.data(), p, 4);
    return a;
}

IpAddress IpAddress::v6_bytes(const uint8_t* p) {
    IpAddress a;
    a.version = 6;
    std::memcpy(a.bytes.data(), p, 16);
    return a;
}

std::optional<IpAddress> IpAddress::parse(const std::string& text) {
    IpAddress a;
    // inet_pton is pure text conversion (no socket API), allowed outside os/.
    if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
        a.version = 4;
        return a;
    }
    if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
        a.version = 6;
        return a;
    }
    return std::nullopt;
}

uint32_t IpAddress::v4_host_order() const {
    return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
           bytes[3];
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(version == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
    return buf;
}

}  // namespace tcpr::net
