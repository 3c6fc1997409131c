// Endpoint and CIDR text, and the allow-list decision intercept makes for each replayer.
#include "common/net/address_parse.h"

#include <catch2/catch.hpp>

using namespace tcpr::net;

namespace {
IpAddress ip(const std::string& s) {
    const auto a = IpAddress::parse(s);
    REQUIRE(a);
    return *a;
}
}  // namespace

TEST_CASE("endpoints parse from ip:port and [ipv6]:port", "[net]") {
    auto e = parse_endpoint("10.1.2.3:36524");
    REQUIRE(e);
    CHECK(e->addr == ip("10.1.2.3"));
    CHECK(e->port == 36524);
    e = parse_endpoint("[fd00::1]:80");
    REQUIRE(e);
    CHECK(e->addr == ip("fd00::1"));
    CHECK(e->port == 80);
    CHECK(parse_endpoint("0.0.0.0:0"));
    for (const char* bad :
         {"", "10.1.2.3", "10.1.2.3:", ":80", "10.1.2.3:65536", "10.1.2.3:-1", "10.1.2.3:8x",
          "fd00::1:80", "[fd00::1]80", "[fd00::1]:", "[10.0.0.1]:80", "host:80", "10.1.2.300:80"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_endpoint(bad));
    }
}

TEST_CASE("CIDR ranges parse, mask host bits, and reject bad lengths", "[net]") {
    auto c = Cidr::parse("10.1.2.3/8");
    REQUIRE(c);
    CHECK(c->to_string() == "10.0.0.0/8");
    c = Cidr::parse("192.168.7.9");
    REQUIRE(c);
    CHECK(c->to_string() == "192.168.7.9/32");
    c = Cidr::parse("fd00:1:2::/20");
    REQUIRE(c);
    CHECK(c->to_string() == "fd00::/20");
    c = Cidr::parse("::1");
    REQUIRE(c);
    CHECK(c->prefix_len == 128);
    for (const char* bad : {"", "/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8/8", "::/129",
                            "10.0.0.0/-1", "10.0.0/8", "any"}) {
        CAPTURE(bad);
        CHECK_FALSE(Cidr::parse(bad));
    }
}

TEST_CASE("CIDR membership compares exactly the prefix bits", "[net]") {
    const Cidr net10 = *Cidr::parse("10.0.0.0/8");
    CHECK(net10.contains(ip("10.255.255.255")));
    CHECK(net10.contains(ip("10.0.0.0")));
    CHECK_FALSE(net10.contains(ip("11.0.0.0")));
    CHECK_FALSE(net10.contains(ip("9.255.255.255")));

    const Cidr odd = *Cidr::parse("192.168.4.0/22");  // 192.168.4.0 - 192.168.7.255
    CHECK(odd.contains(ip("192.168.4.1")));
    CHECK(odd.contains(ip("192.168.7.255")));
    CHECK_FALSE(odd.contains(ip("192.168.8.0")));
    CHECK_FALSE(odd.contains(ip("192.168.3.255")));

    const Cidr all4 = *Cidr::parse("0.0.0.0/0");
    CHECK(all4.contains(ip("203.0.113.9")));
    CHECK_FALSE(all4.contains(ip("2001:db8::1")));  // families never mix

    const Cidr v6 = *Cidr::parse("2001:db8::/33");
    CHECK(v6.contains(ip("2001:db8:7fff::1")));
    CHECK_FALSE(v6.contains(ip("2001:db8:8000::1")));
    CHECK_FALSE(v6.contains(ip("10.0.0.1")));

    // An IPv4 client reaching a dual-stack socket appears as ::ffff:a.b.c.d.
    CHECK(net10.contains(ip("::ffff:10.9.8.7")));
    CHECK_FALSE(net10.contains(ip("::ffff:11.9.8.7")));
    CHECK(unmap_v4(ip("::ffff:10.9.8.7")) == ip("10.9.8.7"));
    CHECK(unmap_v4(ip("fd00::1")) == ip("fd00::1"));
}

TEST_CASE("an allow-list admits only its ranges; an empty one admits everybody", "[net]") {
    const AllowList any;
    CHECK(any.allows_all());
    CHECK(any.allows(ip("203.0.113.5")));
    CHECK(any.to_string() == "any");

    std::string bad;
    const auto list = AllowList::parse({"127.0.0.1", "10.20.0.0/16", "fd00::/8"}, &bad);
    REQUIRE(list);
    CHECK(list->allows(ip("127.0.0.1")));
    CHECK_FALSE(list->allows(ip("127.0.0.2")));
    CHECK(list->allows(ip("10.20.99.1")));
    CHECK_FALSE(list->allows(ip("10.21.0.1")));
    CHECK(list->allows(ip("fd12::9")));
    CHECK_FALSE(list->allows(ip("fe80::1")));
    CHECK(list->to_string() == "127.0.0.1/32, 10.20.0.0/16, fd00::/8");

    CHECK_FALSE(AllowList::parse({"10.0.0.0/8", "10.0.0.0/99"}, &bad));
    CHECK(bad == "10.0.0.0/99");
}

TEST_CASE("a netmask gives its interface's network", "[net][door]") {
    const auto v4 = Cidr::of_netmask(ip("192.168.7.23"), ip("255.255.254.0"));
    REQUIRE(v4);
    CHECK(v4->to_string() == "192.168.6.0/23");
    const auto v6 = Cidr::of_netmask(ip("fd00:1:2:3::17"), ip("ffff:ffff:ffff:ffff::"));
    REQUIRE(v6);
    CHECK(v6->to_string() == "fd00:1:2:3::/64");
    const auto host = Cidr::of_netmask(ip("10.0.0.1"), ip("255.255.255.255"));
    REQUIRE(host);
    CHECK(host->prefix_len == 32);
    CHECK_FALSE(Cidr::of_netmask(ip("10.0.0.1"), ip("ffff::")));
}

TEST_CASE("intercept's default allow-list: the attached networks and loopback", "[net][door]") {
    // A fake host: eth0 10.77.3.2/24 and fd00:77::2/64, eth1 192.168.9.1/30, lo.
    const std::vector<Cidr> interfaces = {
        *Cidr::of_netmask(ip("127.0.0.1"), ip("255.0.0.0")),
        *Cidr::of_netmask(ip("10.77.3.2"), ip("255.255.255.0")),
        *Cidr::of_netmask(ip("192.168.9.1"), ip("255.255.255.252")),
        *Cidr::of_netmask(ip("::1"), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")),
        *Cidr::of_netmask(ip("fd00:77::2"), ip("ffff:ffff:ffff:ffff::")),
    };
    const AllowList def = intercept_allow_list(AllowList(), false, interfaces);
    CHECK(def.to_string() == "127.0.0.0/8, 10.77.3.0/24, 192.168.9.0/30, ::1/128, fd00:77::/64");
    CHECK(def.allows(ip("10.77.3.200")));       // a replayer on eth0's network
    CHECK(def.allows(ip("::ffff:10.77.3.9")));  // the same through a dual-stack socket
    CHECK(def.allows(ip("192.168.9.2")));
    CHECK(def.allows(ip("fd00:77::1234")));
    CHECK(def.allows(ip("127.0.0.1")));
    CHECK(def.allows(ip("::1")));
    CHECK_FALSE(def.allows(ip("10.77.4.1")));  // a routed network: not attached
    CHECK_FALSE(def.allows(ip("192.168.9.5")));
    CHECK_FALSE(def.allows(ip("8.8.8.8")));
    CHECK_FALSE(def.allows(ip("fd00:78::1")));
    CHECK_FALSE(def.allows_all());

    // No interface at all: loopback only, never "everything".
    const AllowList bare = intercept_allow_list(AllowList(), false, {});
    CHECK(bare.to_string() == "127.0.0.0/8, ::1/128");
    CHECK_FALSE(bare.allows(ip("10.77.3.200")));

    // --allow: exactly what is given (plus loopback), the interfaces not consulted.
    const AllowList given = intercept_allow_list(
        *AllowList::parse({"10.80.0.0/16", "10.77.3.0/24"}), false, interfaces);
    CHECK(given.to_string() == "10.80.0.0/16, 10.77.3.0/24, 127.0.0.0/8, ::1/128");
    CHECK(given.allows(ip("10.80.1.1")));
    CHECK_FALSE(given.allows(ip("192.168.9.2")));
    CHECK(given.allows(ip("::1")));

    // --allow any, or both whole families: every address.
    const auto any = AllowList::parse({"any"});
    REQUIRE(any);
    CHECK(any->allows_all());
    CHECK(intercept_allow_list(*any, true, interfaces).allows_all());
    CHECK(intercept_allow_list(*AllowList::parse({"0.0.0.0/0", "::/0"}), false, interfaces)
              .allows_all());
    // Only 0.0.0.0/0: every IPv4 address, IPv6 loopback, no other IPv6.
    const AllowList v4all =
        intercept_allow_list(*AllowList::parse({"0.0.0.0/0"}), false, interfaces);
    CHECK(v4all.allows(ip("8.8.8.8")));
    CHECK_FALSE(v4all.allows(ip("fd00:77::1")));
}
