#include "common/net/flow_key.h"

#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <catch2/catch.hpp>

using tcpr::net::Endpoint;
using tcpr::net::EndpointHash;
using tcpr::net::FlowKey;
using tcpr::net::FlowKeyHash;
using tcpr::net::IpAddress;

namespace {

Endpoint ep(const std::string& addr, uint16_t port) {
    const auto a = IpAddress::parse(addr);
    REQUIRE(a.has_value());
    return Endpoint{*a, port};
}

}  // namespace

TEST_CASE("a flow key is the same for both directions", "[net]") {
    const Endpoint client = ep("10.0.0.1", 40000);
    const Endpoint server = ep("10.0.0.2", 80);
    const FlowKey k1 = FlowKey::of(client, server);
    const FlowKey k2 = FlowKey::of(server, client);
    CHECK(k1 == k2);
    CHECK(FlowKeyHash{}(k1) == FlowKeyHash{}(k2));
    CHECK(k1.lo <= k1.hi);
    CHECK(k1.lo == client);  // 10.0.0.1 < 10.0.0.2
    CHECK(k1.hi == server);
}

TEST_CASE("flow keys differ when any field differs", "[net]") {
    const FlowKey base = FlowKey::of(ep("10.0.0.1", 40000), ep("10.0.0.2", 80));
    CHECK_FALSE(base == FlowKey::of(ep("10.0.0.1", 40001), ep("10.0.0.2", 80)));
    CHECK_FALSE(base == FlowKey::of(ep("10.0.0.1", 40000), ep("10.0.0.2", 81)));
    CHECK_FALSE(base == FlowKey::of(ep("10.0.0.3", 40000), ep("10.0.0.2", 80)));
    CHECK_FALSE(base == FlowKey::of(ep("10.0.0.1", 40000), ep("10.0.0.4", 80)));
    // Ports swapped between the same two hosts is another connection.
    CHECK_FALSE(base == FlowKey::of(ep("10.0.0.1", 80), ep("10.0.0.2", 40000)));
}

TEST_CASE("same address, ports order the endpoints", "[net]") {
    const Endpoint a = ep("127.0.0.1", 8080);
    const Endpoint b = ep("127.0.0.1", 50000);
    const FlowKey k = FlowKey::of(b, a);
    CHECK(k.lo == a);
    CHECK(k.hi == b);
    CHECK(k == FlowKey::of(a, b));
}

TEST_CASE("IPv6 flow keys are canonical and distinct from IPv4", "[net]") {
    const Endpoint c6 = ep("2001:db8::1", 40000);
    const Endpoint s6 = ep("2001:db8::2", 443);
    CHECK(FlowKey::of(c6, s6) == FlowKey::of(s6, c6));
    CHECK(c6.to_string() == "[2001:db8::1]:40000");
    // An IPv4 and an IPv6 address with the same bytes differ by their version.
    IpAddress v4 = *IpAddress::parse("10.0.0.1");
    IpAddress v6 = v4;
    v6.version = 6;
    CHECK_FALSE(v4 == v6);
    const FlowKey k4 = FlowKey::of(Endpoint{v4, 1}, ep("10.0.0.2", 2));
    IpAddress v6b = *IpAddress::parse("10.0.0.2");
    v6b.version = 6;
    const FlowKey k6 = FlowKey::of(Endpoint{v6, 1}, Endpoint{v6b, 2});
    CHECK_FALSE(k4 == k6);
    CHECK(ep("10.0.0.1", 80).to_string() == "10.0.0.1:80");
}

TEST_CASE("many flow keys in an unordered_map: no merges, both directions find", "[net]") {
    std::unordered_map<FlowKey, int, FlowKeyHash> map;
    std::unordered_set<size_t> hashes;
    int n = 0;
    // 64 clients x 256 ports x 2 servers, plus IPv6 twins: 65536 distinct connections.
    for (int host = 1; host <= 64; ++host) {
        for (int port = 0; port < 256; ++port) {
            for (int server = 0; server < 2; ++server) {
                const Endpoint c{IpAddress::v4(0x0a000000u + static_cast<uint32_t>(host)),
                                 static_cast<uint16_t>(30000 + port)};
                const Endpoint s{IpAddress::v4(0xc0a80001u), static_cast<uint16_t>(80 + server)};
                const FlowKey k = FlowKey::of(c, s);
                REQUIRE(map.emplace(k, n).second);
                hashes.insert(FlowKeyHash{}(k));
                ++n;
                IpAddress c6 = *IpAddress::parse("fd00::");
                c6.bytes[14] = static_cast<uint8_t>(host);
                c6.bytes[15] = static_cast<uint8_t>(port);
                const FlowKey k6 = FlowKey::of(Endpoint{c6, c.port},
                                               Endpoint{*IpAddress::parse("fd00::ffff"), s.port});
                REQUIRE(map.emplace(k6, n).second);
                hashes.insert(FlowKeyHash{}(k6));
                ++n;
            }
        }
    }
    CHECK(map.size() == static_cast<size_t>(n));
    // The hash spreads: a handful of 64-bit collisions at most among 65536 keys.
    CHECK(hashes.size() >= map.size() - 4);
    // Lookups succeed from the other direction.
    int found = 0;
    for (int host = 1; host <= 64; host += 7) {
        for (int port = 0; port < 256; port += 13) {
            const Endpoint c{IpAddress::v4(0x0a000000u + static_cast<uint32_t>(host)),
                             static_cast<uint16_t>(30000 + port)};
            const Endpoint s{IpAddress::v4(0xc0a80001u), 81};
            const auto it = map.find(FlowKey::of(s, c));
            REQUIRE(it != map.end());
            ++found;
        }
    }
    CHECK(found > 0);
    CHECK(map.count(FlowKey::of(ep("10.0.0.1", 29999), ep("192.168.0.1", 80))) == 0);
}

TEST_CASE("endpoint hash agrees with endpoint equality", "[net]") {
    const Endpoint a = ep("10.1.2.3", 443);
    const Endpoint b = ep("10.1.2.3", 443);
    CHECK(a == b);
    CHECK(EndpointHash{}(a) == EndpointHash{}(b));
    std::set<size_t> hs;
    for (uint16_t p = 1; p <= 1000; ++p) {
        hs.insert(EndpointHash{}(ep("10.1.2.3", p)));
    }
    CHECK(hs.size() == 1000);
}

TEST_CASE("ip address parse and print", "[net]") {
    CHECK(IpAddress::parse("1.2.3.4")->to_string() == "1.2.3.4");
    CHECK(IpAddress::parse("1.2.3.4")->v4_host_order() == 0x01020304u);
    CHECK(IpAddress::v4(0x01020304u) == *IpAddress::parse("1.2.3.4"));
    CHECK(IpAddress::parse("::1")->version == 6);
    CHECK(IpAddress::parse("fe80::1:2")->to_string() == "fe80::1:2");
    CHECK_FALSE(IpAddress::parse("1.2.3"));
    CHECK_FALSE(IpAddress::parse("not an address"));
    CHECK_FALSE(IpAddress::parse(""));
}
