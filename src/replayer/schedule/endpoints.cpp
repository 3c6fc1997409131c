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
    allowed_.assign(65536 / 64, 0);
    for (uint32_t port = opt_.min_port; port < 65536; ++port) {
        if (port % opt_.port_classes == opt_.port_class) {
            allowed_[port / 64] |= uint64_t{1} << (port % 64);
        }
    }
    for (uint16_t port : opt_.reserved_ports) {
        allowed_[port / 64] &= ~(uint64_t{1} << (port % 64));
    }
}

bool EndpointAllocator::in_use(const net::Endpoint& e) const {
    const auto it = used_.find(net::Endpoint{e.addr, static_cast<uint16_t>(e.port / 64)});
    return it != used_.end() && (it->second >> (e.port % 64) & 1) != 0;
}

bool EndpointAllocator::take(const net::Endpoint& e) {
    uint64_t& word = used_[net::Endpoint{e.addr, static_cast<uint16_t>(e.port / 64)}];
    const uint64_t bit = uint64_t{1} << (e.port % 64);
    if ((word & bit) != 0) {
        return false;
    }
    word |= bit;
    ++used_count_;
    return true;
}

void EndpointAllocator::free_port(const net::Endpoint& e) {
    const auto it = used_.find(net::Endpoint{e.addr, static_cast<uint16_t>(e.port / 64)});
    const uint64_t bit = uint64_t{1} << (e.port % 64);
    if (it == used_.end() || (it->second & bit) == 0) {
        return;
    }
    it->second &= ~bit;
    --used_count_;
    if (it->second == 0) {
        used_.erase(it);
    }
}

uint16_t EndpointAllocator::first_free(const net::IpAddress& addr, uint32_t lo, uint32_t hi) const {
    net::Endpoint key{addr, 0};
    for (uint32_t w = lo / 64; w * 64 < hi; ++w) {
        uint64_t free = allowed_[w];
        if (w == lo / 64) {
            free &= ~uint64_t{0} << (lo % 64);
        }
        if ((w + 1) * 64 > hi) {
            free &= ~(~uint64_t{0} << (hi % 64));
        }
        if (free == 0) {
            continue;
        }
        key.port = static_cast<uint16_t>(w);
        const auto it = used_.find(key);
        if (it != used_.end()) {
            free &= ~it->second;
        }
        if (free != 0) {
            return static_cast<uint16_t>(w * 64 + static_cast<uint32_t>(__builtin_ctzll(free)));
        }
    }
    return 0;
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
    // First the recorded port (copy 0, or any copy on a pool address) or the shifted one, then
    // the next ports up from there, wrapping round to min_port: the first free one.
    if (keep_recorded_port) {
        e.port = recorded.port;
        const bool reserved = std::find(opt_.reserved_ports.begin(), opt_.reserved_ports.end(),
                                        e.port) != opt_.reserved_ports.end() ||
                              e.port % opt_.port_classes != opt_.port_class;
        if (e.port != 0 && !reserved && take(e)) {
            return e;
        }
    }
    const uint32_t first = opt_.min_port + port_base;
    const uint32_t start = keep_recorded_port ? first + 1 : first;
    uint16_t port = first_free(e.addr, start, 65536);
    if (port == 0) {
        port = first_free(e.addr, opt_.min_port, first);
    }
    if (port != 0) {
        e.port = port;
        (void)take(e);
        return e;
    }
    ++exhausted_;
    return std::nullopt;
}

void EndpointAllocator::release(const net::Endpoint& e, uint64_t now_ns) {
    if (!in_use(e)) {
        return;
    }
    lingering_.push_back({now_ns + opt_.linger_ns, e});
    expire(now_ns);
}

void EndpointAllocator::expire(uint64_t now_ns) {
    while (!lingering_.empty() && lingering_.front().until <= now_ns) {
        free_port(lingering_.front().endpoint);
        lingering_.pop_front();
    }
}

}  // namespace tcpr::replay
