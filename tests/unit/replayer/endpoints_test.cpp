// EndpointAllocator: copies x loops never share a 4-tuple while it can matter at the target.
#include "replayer/schedule/endpoints.h"

#include <algorithm>
#include <deque>
#include <set>
#include <unordered_set>

#include <catch2/catch.hpp>

namespace tcpr::replay {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

net::Endpoint ep(const char* addr, uint16_t port) {
    return net::Endpoint{*net::IpAddress::parse(addr), port};
}

}  // namespace

TEST_CASE("copy 0 keeps the recorded endpoint; other copies get shifted ports",
          "[replay][endpoints]") {
    EndpointAllocator a;
    const auto rec = ep("10.0.0.1", 40000);
    const auto c0 = a.allocate(rec, 0, 0, 3, 0);
    const auto c1 = a.allocate(rec, 1, 0, 3, 0);
    const auto c2 = a.allocate(rec, 2, 0, 3, 0);
    REQUIRE(c0);
    REQUIRE(c1);
    REQUIRE(c2);
    CHECK(*c0 == rec);
    CHECK(c1->addr == rec.addr);
    CHECK(c1->port != rec.port);
    CHECK(c2->port != rec.port);
    CHECK(c1->port != c2->port);
    CHECK(c1->port >= 1024);
    CHECK(a.live() == 3);
}

TEST_CASE(
    "every endpoint of copies x loops of many sessions is distinct while live or "
    "lingering",
    "[replay][endpoints]") {
    // Recorded clients with consecutive ports, as one busy client host produces them: a plain
    // port shift of one copy lands on another session's recorded port.
    EndpointAllocator a(EndpointOptions{std::nullopt, 1, 1024, 60 * kSec, {}});
    const uint32_t copies = 4, loops = 3, sessions = 500;
    std::set<net::Endpoint> seen;
    uint64_t now = 0;
    for (uint32_t loop = 0; loop < loops; ++loop) {
        std::vector<net::Endpoint> live;
        for (uint32_t s = 0; s < sessions; ++s) {
            const auto recorded = ep("10.0.0.1", static_cast<uint16_t>(40000 + s));
            for (uint32_t k = 0; k < copies; ++k) {
                const auto e = a.allocate(recorded, k, loop, copies, now);
                REQUIRE(e);
                CHECK(seen.insert(*e).second);  // never handed out before in this run
                live.push_back(*e);
            }
        }
        now += 10 * kSec;  // sessions end: their tuples linger 60 s (TIME_WAIT at the target)
        for (const auto& e : live) {
            a.release(e, now);
        }
    }
    CHECK(seen.size() == copies * loops * sessions);
    CHECK(a.lingering() == copies * loops * sessions);
    CHECK(a.live() == 0);
}

TEST_CASE("a released endpoint is reused only after the linger time", "[replay][endpoints]") {
    EndpointAllocator a(EndpointOptions{std::nullopt, 7919, 1024, 60 * kSec, {}});
    const auto rec = ep("10.0.0.1", 40000);
    const auto first = a.allocate(rec, 0, 0, 1, 0);
    REQUIRE(first);
    a.release(*first, 1 * kSec);
    const auto during = a.allocate(rec, 0, 0, 1, 30 * kSec);
    REQUIRE(during);
    CHECK(*during != *first);
    CHECK(a.in_use(*first));
    a.release(*during, 30 * kSec);
    const auto after = a.allocate(rec, 0, 0, 1, 61 * kSec);
    REQUIRE(after);
    CHECK(*after == *first);
}

TEST_CASE("copies spread over an address pool", "[replay][endpoints]") {
    EndpointOptions o;
    o.pool = Cidr::parse("172.16.5.0/30");  // 4 addresses
    EndpointAllocator a(o);
    const auto rec = ep("10.0.0.1", 40000);
    std::set<net::IpAddress> addrs;
    std::set<net::Endpoint> all;
    for (uint32_t k = 0; k < 8; ++k) {
        const auto e = a.allocate(rec, k, 0, 8, 0);
        REQUIRE(e);
        CHECK(o.pool->contains(e->addr));
        addrs.insert(e->addr);
        CHECK(all.insert(*e).second);
    }
    CHECK(addrs.size() == 4);  // 8 copies over 4 addresses: each used twice, ports differ
}

TEST_CASE("exhaustion is reported, not looped on", "[replay][endpoints]") {
    EndpointOptions o;
    o.min_port = 65534;  // two ports only
    EndpointAllocator a(o);
    const auto rec = ep("10.0.0.1", 65534);
    CHECK(a.allocate(rec, 0, 0, 3, 0));
    CHECK(a.allocate(rec, 1, 0, 3, 0));
    CHECK_FALSE(a.allocate(rec, 2, 0, 3, 0));
    CHECK(a.exhausted() == 1);
}

}  // namespace tcpr::replay

namespace tcpr::replay {

TEST_CASE("reserved ports (intercept's own) are never handed out", "[replay][endpoints]") {
    EndpointOptions o;
    o.reserved_ports = {36524};
    EndpointAllocator a(o);
    // A recorded client on the reserved port, and enough copies that the port shift would land
    // on it: no copy ever gets it, since intercept's capture filter drops that port.
    const auto rec = ep("10.0.0.1", 36524);
    for (uint32_t copy = 0; copy < 3000; ++copy) {
        const auto e = a.allocate(rec, copy, 0, 3000, 0);
        REQUIRE(e);
        CHECK(e->port != 36524);
    }
}

TEST_CASE("shards hand out disjoint client ports: the copies of N shards never share a tuple",
          "[replay][endpoints][shard]") {
    constexpr uint32_t kShards = 3;
    std::set<std::pair<std::string, uint16_t>> seen;
    for (uint32_t shard = 0; shard < kShards; ++shard) {
        EndpointOptions o;
        o.port_classes = kShards;
        o.port_class = shard;
        EndpointAllocator a(o);
        // The same recorded clients in every shard (a worst case: sharding gives each shard
        // other clients), 4 copies x 2 loops each.
        for (uint16_t p = 40000; p < 40050; ++p) {
            for (uint32_t loop = 0; loop < 2; ++loop) {
                for (uint32_t copy = 0; copy < 4; ++copy) {
                    const auto e = a.allocate(ep("10.0.0.1", p), copy, loop, 4, 0);
                    REQUIRE(e);
                    CHECK(e->port % kShards == shard);
                    CHECK(seen.emplace(e->addr.to_string(), e->port).second);
                }
            }
        }
    }
    CHECK(seen.size() == kShards * 50 * 8);
    // Copy 0 keeps its recorded port when that port is of the shard's class.
    EndpointOptions o;
    o.port_classes = 2;
    o.port_class = 0;
    EndpointAllocator a(o);
    CHECK(a.allocate(ep("10.0.0.1", 40000), 0, 0, 1, 0)->port == 40000);
    CHECK(a.allocate(ep("10.0.0.1", 40001), 0, 0, 1, 0)->port % 2 == 0);
}

}  // namespace tcpr::replay

namespace tcpr::replay {
namespace {

// The allocation rule spelled out port by port (the allocator finds the same ports a word of
// 64 at a time): the recorded port (copy 0, or a pool address) or the shifted one first, then
// upwards, wrapping round to min_port.
class PortByPort {
  public:
    PortByPort(EndpointOptions o) : o_(std::move(o)) {}
    std::optional<net::Endpoint> allocate(const net::Endpoint& rec, uint32_t copy, uint32_t loop,
                                          uint32_t copies, uint64_t now) {
        expire(now);
        const uint64_t k = uint64_t{loop} * copies + copy;
        const uint32_t range = 65536u - o_.min_port;
        uint32_t base = rec.port >= o_.min_port ? rec.port - o_.min_port : rec.port % range;
        base = static_cast<uint32_t>((base + k * o_.port_stride) % range);
        net::Endpoint e = rec;
        for (uint32_t probe = 0; probe < range; ++probe) {
            e.port = probe == 0 && k == 0
                         ? rec.port
                         : static_cast<uint16_t>(o_.min_port + (base + probe) % range);
            const bool reserved =
                std::count(o_.reserved_ports.begin(), o_.reserved_ports.end(), e.port) != 0 ||
                e.port % o_.port_classes != o_.port_class;
            if (e.port != 0 && !reserved && used_.insert(e.port).second) {
                return e;
            }
        }
        return std::nullopt;
    }
    void release(const net::Endpoint& e, uint64_t now) {
        lingering_.push_back({now + o_.linger_ns, e.port});
    }

  private:
    void expire(uint64_t now) {
        while (!lingering_.empty() && lingering_.front().first <= now) {
            used_.erase(lingering_.front().second);
            lingering_.pop_front();
        }
    }
    EndpointOptions o_;
    std::set<uint16_t> used_;
    std::deque<std::pair<uint64_t, uint16_t>> lingering_;
};

}  // namespace

TEST_CASE(
    "clients behind one address with consecutive ports: the copies get the ports the rule "
    "gives, found a word at a time",
    "[replay][endpoints]") {
    // A benchmark, a NAT or a load balancer: one client address, ports in sequence, each
    // connection short. The copies' shifted runs of ports overlap (a short stride here; 7919 at
    // thousands of connections per second with tens of thousands of ports lingering), so many
    // copies find their first port taken and go on to the next free.
    for (const uint32_t classes : {1u, 3u}) {
        EndpointOptions o;
        o.linger_ns = 2 * kSec;
        o.reserved_ports = {36524, 40001};
        o.port_classes = classes;
        o.port_class = classes - 1;
        o.port_stride = 101;
        EndpointAllocator fast(o);
        PortByPort rule(o);
        struct Live {
            net::Endpoint e;
            uint64_t until;
        };
        std::deque<Live> live;
        uint64_t now = 0;
        size_t moved = 0;
        uint16_t port = 1024;
        for (int conn = 0; conn < 2500; ++conn) {
            now += kSec / 3000;  // 3,000 connections per second, each open 5 ms
            port = static_cast<uint16_t>(port == 65535 ? 1024 : port + 1);
            while (!live.empty() && live.front().until <= now) {
                fast.release(live.front().e, now);
                rule.release(live.front().e, now);
                live.pop_front();
            }
            for (uint32_t copy = 0; copy < 3; ++copy) {
                const auto a = fast.allocate(ep("10.0.0.1", port), copy, 0, 3, now);
                const auto b = rule.allocate(ep("10.0.0.1", port), copy, 0, 3, now);
                REQUIRE(a.has_value() == b.has_value());
                if (!a) {
                    continue;
                }
                REQUIRE(a->port == b->port);
                CHECK(a->port % classes == classes - 1);
                CHECK(a->port != 36524);
                const uint32_t shifted = 1024 + (port - 1024 + copy * 101) % 64512;
                moved += a->port != shifted;
                live.push_back({*a, now + 5'000'000});
            }
        }
        CHECK(moved > 0);  // the case the word-at-a-time search is for did occur
        CHECK(fast.live() == live.size());
    }
}

}  // namespace tcpr::replay
