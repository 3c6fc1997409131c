#include "common/net/flow_key.h"

#include <cstring>

#include "common/base/hash.h"

namespace tcpr::net {
namespace {
// mix64 over the address words.
uint64_t hash_endpoint(const Endpoint& e, uint64_t seed) {
    uint64_t a, b;
    std::memcpy(&a, e.addr.bytes.data(), 8);
    std::memcpy(&b, e.addr.bytes.data() + 8, 8);
    uint64_t h = mix64(seed ^ a);
    h = mix64(h ^ b);
    return mix64(h ^ (uint64_t{e.port} << 8) ^ e.addr.version);
}
}  // namespace

std::string Endpoint::to_string() const {
    if (addr.version == 6) {
        return "[" + addr.to_string() + "]:" + std::to_string(port);
    }
    return addr.to_string() + ":" + std::to_string(port);
}

size_t EndpointHash::operator()(const Endpoint& e) const noexcept {
    return static_cast<size_t>(hash_endpoint(e, 0x9e3779b97f4a7c15ULL));
}

size_t FlowKeyHash::operator()(const FlowKey& k) const noexcept {
    return static_cast<size_t>(hash_endpoint(k.hi, hash_endpoint(k.lo, 0x9e3779b97f4a7c15ULL)));
}

}  // namespace tcpr::net
