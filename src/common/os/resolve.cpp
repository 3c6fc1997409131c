#include "common/os/resolve.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/base/error.h"
#include "common/base/parse.h"

namespace tcpr::os {

HostPort split_host_port(const std::string& text, const std::string& option) {
    HostPort hp;
    std::string port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos) {
            throw Error(ErrorKind::Usage,
                        "bad value '" + text + "' for " + option + " (expected [IPv6]:PORT)");
        }
        hp.host = text.substr(1, close - 1);
        if (close + 1 < text.size()) {
            if (text[close + 1] != ':') {
                throw Error(ErrorKind::Usage,
                            "bad value '" + text + "' for " + option + " (expected [IPv6]:PORT)");
            }
            port_text = text.substr(close + 2);
        }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        const auto colon = text.find(':');
        hp.host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    } else {
        hp.host = text;  // a name, an IPv4 address, or a bare IPv6 address
    }
    if (hp.host.empty()) {
        throw Error(ErrorKind::Usage,
                    "bad value '" + text + "' for " + option + " (expected HOST[:PORT])");
    }
    if (!port_text.empty() || (text.size() > 0 && text.back() == ':')) {
        hp.port = parse_port(port_text, option);
    }
    return hp;
}

net::Endpoint resolve_endpoint(const std::string& text, uint16_t default_port,
                               const std::string& option) {
    const HostPort hp = split_host_port(text, option);
    net::Endpoint e;
    if (hp.port) {
        e.port = *hp.port;
    } else if (default_port != 0) {
        e.port = default_port;
    } else {
        throw Error(ErrorKind::Usage,
                    "bad value '" + text + "' for " + option + " (expected HOST:PORT)");
    }
    if (auto a = net::IpAddress::parse(hp.host)) {
        e.addr = *a;
        return e;
    }
    if (!hp.host.empty() && hp.host.find_first_not_of("0123456789.") == std::string::npos) {
        // Digits and dots are an IPv4 address, never a name to look up (999.1.1.1, 10.1.1).
        throw Error(ErrorKind::Usage, "bad value '" + text + "' for " + option + ": '" + hp.host +
                                          "' is not an IPv4 address");
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(hp.host.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
        throw Error(ErrorKind::Network,
                    "cannot resolve '" + hp.host + "' (" + option + "): " + gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(res, &freeaddrinfo);
    const addrinfo* pick = nullptr;
    for (const addrinfo* p = res; p != nullptr; p = p->ai_next) {
        if (p->ai_family == AF_INET) {
            pick = p;
            break;
        }
        if (p->ai_family == AF_INET6 && pick == nullptr) {
            pick = p;
        }
    }
    if (pick == nullptr) {
        throw Error(ErrorKind::Network,
                    "cannot resolve '" + hp.host + "' (" + option + "): no IP address");
    }
    if (pick->ai_family == AF_INET) {
        const auto* sa = reinterpret_cast<const sockaddr_in*>(pick->ai_addr);
        e.addr = net::IpAddress::v4_bytes(reinterpret_cast<const uint8_t*>(&sa->sin_addr));
    } else {
        const auto* sa = reinterpret_cast<const sockaddr_in6*>(pick->ai_addr);
        e.addr = net::IpAddress::v6_bytes(reinterpret_cast<const uint8_t*>(&sa->sin6_addr));
    }
    return e;
}

}  // namespace tcpr::os
