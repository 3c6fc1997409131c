// "HOST[:PORT]" -> an endpoint: literal IPv4/IPv6 addresses ("[fd00::1]:80", "fd00::1") or a
// host name looked up with getaddrinfo (the first IPv4 answer preferred, else IPv6).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/net/flow_key.h"

namespace tcpr::os {

struct HostPort {
    std::string host;
    std::optional<uint16_t> port;
};

// Splits "host", "host:80", "1.2.3.4:80", "[fd00::1]:80", "fd00::1". Throws Error(Usage)
// naming `option` on a bad port or an empty host.
HostPort split_host_port(const std::string& text, const std::string& option);

// Resolves `text` (see above); default_port when it has none (0 = a port is required).
// Throws Error(Usage) for bad text, Error(Network) "cannot resolve 'host': ..." when the name
// does not resolve.
net::Endpoint resolve_endpoint(const std::string& text, uint16_t default_port,
                               const std::string& option);

}  // namespace tcpr::os
