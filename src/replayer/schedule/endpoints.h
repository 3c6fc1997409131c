// Client endpoints for session copies, collision-free at the target. Copy k (of loop l) of a
// session gets a shifted port of the recorded client address (or an address from a pool) and
// the allocator never hands out an endpoint that is live or may still linger at the target
// (TIME_WAIT) from an earlier copy or loop: every 4-tuple is unique while it can matter.
// Pure logic; times are the run loop's nanoseconds.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_set>
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

    bool in_use(const net::Endpoint& e) const { return used_.count(e) != 0; }
    size_t live() const { return used_.size() - lingering_.size(); }
    size_t lingering() const { return lingering_.size(); }
    uint64_t exhausted() const { return exhausted_; }

  private:
    void expire(uint64_t now_ns);
    net::IpAddress pool_address(uint64_t index) const;

    EndpointOptions opt_;
    uint64_t pool_size_ = 0;
    std::unordered_set<net::Endpoint, net::EndpointHash> used_;  // live + lingering
    struct Lingering {
        uint64_t until;
        net::Endpoint endpoint;
    };
    std::deque<Lingering> lingering_;  // in release order = expiry order (constant linger)
    uint64_t exhausted_ = 0;
};

}  // namespace tcpr::replay
