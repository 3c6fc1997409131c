#include "common/os/sockaddr.h"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

namespace tcpr::os {

socklen_t to_sockaddr(const net::Endpoint& e, sockaddr_storage& ss) {
    std::memset(&ss, 0, sizeof ss);
    if (e.addr.version == 6) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(e.port);
        std::memcpy(&s6->sin6_addr, e.addr.bytes.data(), 16);
        return sizeof(sockaddr_in6);
    }
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(e.port);
    std::memcpy(&s4->sin_addr, e.addr.bytes.data(), 4);
    return sizeof(sockaddr_in);
}

net::Endpoint from_sockaddr(const sockaddr_storage& ss) {
    net::Endpoint e;
    if (ss.ss_family == AF_INET6) {
        const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
        e.addr = net::IpAddress::v6_bytes(reinterpret_cast<const uint8_t*>(&s6->sin6_addr));
        e.port = ntohs(s6->sin6_port);
    } else {
        const auto* s4 = reinterpret_cast<const sockaddr_in*>(&ss);
        e.addr = net::IpAddress::v4_bytes(reinterpret_cast<const uint8_t*>(&s4->sin_addr));
        e.port = ntohs(s4->sin_port);
    }
    return e;
}

std::optional<net::Endpoint> local_endpoint_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        return std::nullopt;
    }
    return from_sockaddr(ss);
}

}  // namespace tcpr::os
