#include "replayer/schedule/endpoints.h"

#include <algorithm>

namespace tcpr::replay {

EndpointAllocator::EndpointAllocator(EndpointOptions options) : opt_(std::move(options)) {
    if (opt_.pool) {
        const int host_bits = (opt_.pool->network.version == 6 ? 128 : 32) - opt_.pool->prefix_len;
        pool_size_ = host_bits >= 32 ? (1ull << 32) : (1ull << host_bits);
    }
    if (opt_.min_port == 0) {
        opt_.min_port = 1;
    }
    if (opt_.port_classes == 0 || opt_.port_class >= opt_.port_classes) {
        opt_.port_classes = 1;
        opt_.port_class = 0;
    }
}

net::IpAddress EndpointAllocator::pool_address(uint64_t index) const {
    net::IpAddress a = opt_.pool->network;
    const int prefix = opt_.pool->prefix_len;
    const int len = a.version == 6 ? 16 : 4;
    // Clear the host bits, then add the index into the low bits (at most 32 of them).
    for (int bit = prefix; bit < len * 8; ++bit) {
        a.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    }
    uint64_t carry = index;
    for (int i = len - 1; i >= 0 && carry != 0; --i) {
        const uint64_t v = a.bytes[i] + (carry & 0xff);
        a.bytes[i] = static_cast<uint8_t>(v);
        carry = (carry >> 8) + (v >> 8);
    }
    return a;
}

std::optional<net::Endpoint> EndpointAllocator::allocate(const net::Endpoint& recorded,
                                                         uint32_t copy, uint32_t loop,
                                                         uint32_t copies, uint64_t now_ns) {
    expire(now_ns);
    const uint64_t k = static_cast<uint64_t>(loop) * std::max<uint32_t>(copies, 1) + copy;
    const uint32_t range = 65536u - opt_.min_port;
    net::Endpoint e = recorded;
    uint32_t port_base =
        recorded.port >= opt_.min_port ? recorded.port - opt_.min_port : recorded.port % range;
    if (opt_.pool) {
        // Spread copies over the pool; the port keeps the recorded one (then probes).
        const uint64_t h = net::EndpointHash{}(net::Endpoint{recorded.addr, 0});
        e.addr = pool_address((h + k) % pool_size_);
    } else {
        port_base = static_cast<uint32_t>((port_base + k * opt_.port_stride) % range);
    }
    const bool keep_recorded_port = opt_.pool || k == 0;
    for (uint32_t probe = 0; probe < range; ++probe) {
        if (probe == 0 && keep_recorded_port) {
            e.port = recorded.port;
        } else {
            e.port = static_cast<uint16_t>(opt_.min_port + (port_base + probe) % range);
        }
        const bool reserved = std::find(opt_.reserved_ports.begin(), opt_.reserved_ports.end(),
                                        e.port) != opt_.reserved_ports.end() ||
                              e.port % opt_.port_classes != opt_.port_class;
        if (e.port != 0 && !reserved && used_.insert(e).second) {
            return e;
        }
    }
    ++exhausted_;
    return std::nullopt;
}

void EndpointAllocator::release(const net::Endpoint& e, uint64_t now_ns) {
    if (used_.count(e) == 0) {
        return;
    }
    lingering_.push_back({now_ns + opt_.linger_ns, e});
    expire(now_ns);
}

void EndpointAllocator::expire(uint64_t now_ns) {
    while (!lingering_.empty() && lingering_.front().until <= now_ns) {
        used_.erase(lingering_.front().endpoint);
        lingering_.pop_front();
    }
}

}  // namespace tcpr::replay
