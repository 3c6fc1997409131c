// What a request asks, as a name to group requests by in the comparison report ("endpoints"):
//  - HTTP/1.x: method and path, the query dropped and ids collapsed: a path segment of digits
//    becomes {n}, a UUID {uuid}, a run of 16 or more hex digits {hex} ("GET /user/{n}/photo");
//  - Redis (RESP): "redis " and the command name in capitals ("redis GET");
//  - anything else: its first bytes (EndpointRules::prefix_bytes), non-printable ones as '.'.
// Pure: read from the request's first bytes only (what the recording holds of it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace tcpr::replay {

struct EndpointRules {
    size_t prefix_bytes = 16;  // --endpoint-bytes: the name of a request of no known protocol
};

// At most this many of a request's first bytes are read to name it.
constexpr size_t kEndpointScanBytes = 512;

struct EndpointName {
    std::string name;
    bool known = false;  // by a protocol's rule (HTTP, RESP), not by the first bytes
};

EndpointName endpoint_name(std::span<const uint8_t> request, const EndpointRules& rules = {});

// The name of bytes that continue a request of endpoint `name` (an HTTP body after "100
// Continue"): "POST /upload (continued)" (itself when it already is one).
std::string continued_name(const std::string& name);

}  // namespace tcpr::replay
