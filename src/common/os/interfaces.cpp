#include "common/os/interfaces.h"

#include <algorithm>
#include <cerrno>
#include <ifaddrs.h>
#include <memory>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/base/error.h"

namespace tcpr::os {
namespace {

std::optional<net::IpAddress> address_of(const sockaddr* sa) {
    if (sa == nullptr) {
        return std::nullopt;
    }
    if (sa->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        return net::IpAddress::v4_bytes(reinterpret_cast<const uint8_t*>(&in->sin_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        return net::IpAddress::v6_bytes(in6->sin6_addr.s6_addr);
    }
    return std::nullopt;
}

}  // namespace

std::vector<net::Cidr> interface_networks() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        throw_errno("cannot list this host's interface addresses (getifaddrs)", errno);
    }
    const std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> owner(list, ::freeifaddrs);
    std::vector<net::Cidr> out;
    for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
        const auto addr = address_of(i->ifa_addr);
        const auto mask = address_of(i->ifa_netmask);
        if (!addr || !mask) {
            continue;
        }
        const auto c = net::Cidr::of_netmask(*addr, *mask);
        if (c && std::find(out.begin(), out.end(), *c) == out.end()) {
            out.push_back(*c);
        }
    }
    return out;
}

}  // namespace tcpr::os
