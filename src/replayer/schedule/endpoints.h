// Client endpoints for session copies, collision-free at the target. Copy k (of loop l) of a
// session gets a shifted port of the recorded client address (or an address from a pool) and
// the allocator never hands out an endpoint that is live or may still linger at the target
// (TIME_WAIT) from an earlier copy or loop: every 4-tuple is unique while it can matter.
// Pure logic; times are the run loop's nanoseconds.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/net/flow_key.h"
#include "replayer/sessions/session_builder.h"

namespace tcpr::replay {

struct EndpointOptions {
    std::optional<Cidr> pool;             // --client-pool: client addresses from this network
    uint32_t port_stride = 7919;          // port shift between successive copies/loops (prime)
    uint16_t min_port = 1024;             // shifted ports stay in [min_port, 65535]
    uint64_t linger_ns = 60'000'000'000;  // a released endpoint stays reserved this long
    // Client ports never handed out: intercept's listening port (its capture filter excludes that
    // port whatever the address, so a session using it would never see its SYN-ACK reported).
    std::vector<uint16_t> reserved_ports;
    // --shard I/N: only ports p with p % port_classes == port_class, so the copies of N shards
    // sharing one target and one intercept never use the same client tuple.
    uint32_t port_classes = 1, port_class = 0;
};

class EndpointAllocator {
  public:
    explicit EndpointAllocator(EndpointOptions options = {});

    // An endpoint for copy `copy` of loop `loop` (copies per loop: `copies`) of a session
    // recorded from `recorded`. Copy 0 of loop 0 keeps the recorded endpoint when it is free
    // (no pool) and is of this shard's port class. nullopt if every candidate is taken (the
    // caller retries later).
    std::optional<net::Endpoint> allocate(const net::Endpoint& recorded, uint32_t copy,
                                          uint32_t loop, uint32_t copies, uint64_t now_ns);
    // The session using `e` ended: reserved until now + linger, then free again.
    void release(const net::Endpoint& e, uint64_t now_ns);

    bool in_use(const net::Endpoint& e) const;
    size_t live() const { return used_count_ - lingering_.size(); }
    size_t lingering() const { return lingering_.size(); }
    uint64_t exhausted() const { return exhausted_; }

  private:
    void expire(uint64_t now_ns);
    net::IpAddress pool_address(uint64_t index) const;
    bool take(const net::Endpoint& e);  // false: in use already
    void free_port(const net::Endpoint& e);
    // The first free port of `addr` in [lo, hi) that this allocator may hand out, or 0.
    uint16_t first_free(const net::IpAddress& addr, uint32_t lo, uint32_t hi) const;

    EndpointOptions opt_;
    uint64_t pool_size_ = 0;
    // The ports in use (live + lingering), 64 per word, keyed by {address, port / 64}: a copy
    // whose first port is taken finds the next free one a word at a time. Clients behind one
    // address (a load balancer, a NAT, a benchmark) fill long runs of ports, and the copies'
    // shifted runs overlap: probing port by port walked thousands of them per connection.
    std::unordered_map<net::Endpoint, uint64_t, net::EndpointHash> used_;
    size_t used_count_ = 0;
    std::vector<uint64_t> allowed_;  // per port: >= min_port, not reserved, this shard's class
    struct Lingering {
        uint64_t until;
        net::Endpoint endpoint;
    };
    std::deque<Lingering> lingering_;  // in release order = expiry order (constant linger)
    uint64_t exhausted_ = 0;
};

}  // namespace tcpr::replay
