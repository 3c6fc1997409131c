// ReportRouter: exact-tuple ownership, expiry on a fake clock, no takeover (refusals counted).
#include "intercept/report_router.h"

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

namespace {

using namespace tcpr;
using namespace tcpr::icpt;
using namespace std::chrono_literals;

net::Endpoint ep(const std::string& addr, uint16_t port) {
    const auto a = net::IpAddress::parse(addr);
    REQUIRE(a);
    return net::Endpoint{*a, port};
}

wire::Tuple tuple(uint16_t client_port, const std::string& client = "10.0.0.1",
                  const std::string& server = "10.0.0.2", uint16_t server_port = 80) {
    return wire::Tuple{ep(client, client_port), ep(server, server_port)};
}

const SteadyTime t0 = SteadyTime{} + 1000h;  // a fake clock: the router only compares times

}  // namespace

TEST_CASE("a registered tuple routes to its replayer; others do not route", "[intercept]") {
    ReportRouter r(60s);
    CHECK(r.add(1, tuple(40000), t0) == ReportRouter::AddOutcome::Added);
    CHECK(r.route(tuple(40000), t0) == ReplayerId{1});
    CHECK_FALSE(r.route(tuple(40001), t0));
    CHECK_FALSE(r.route(tuple(40000, "10.0.0.1", "10.0.0.2", 81), t0));
    CHECK_FALSE(r.route(tuple(40000, "10.0.0.3"), t0));
    CHECK(r.size() == 1);
    CHECK(r.owned_by(1) == 1);
}

TEST_CASE("registrations expire after the idle period, and use keeps them alive", "[intercept]") {
    ReportRouter r(60s);
    r.add(1, tuple(40000), t0);
    r.add(1, tuple(40001), t0);

    SECTION("unused for the whole period: gone") {
        CHECK(r.route(tuple(40000), t0 + 60s - 1ns) == ReplayerId{1});
        // 40000 was just used; 40001 was not.
        CHECK_FALSE(r.route(tuple(40001), t0 + 60s));
        CHECK(r.size() == 1);
        CHECK(r.route(tuple(40000), t0 + 120s - 2ns) == ReplayerId{1});
        CHECK(r.expire(t0 + 180s) == 1);
        CHECK(r.size() == 0);
        CHECK(r.owned_by(1) == 0);
        CHECK(r.counters().expired == 2);
    }
    SECTION("re-registering refreshes") {
        CHECK(r.add(1, tuple(40000), t0 + 50s) == ReportRouter::AddOutcome::Refreshed);
        CHECK(r.expire(t0 + 100s) == 1);  // 40001 only
        CHECK(r.route(tuple(40000), t0 + 100s) == ReplayerId{1});
        CHECK_FALSE(r.route(tuple(40001), t0 + 100s));
        CHECK(r.counters().refreshed == 1);
    }
    SECTION("expire() removes only what is idle long enough") {
        CHECK(r.expire(t0 + 59s) == 0);
        CHECK(r.size() == 2);
        CHECK(r.expire(t0 + 60s) == 2);
        CHECK(r.size() == 0);
    }
    SECTION("a registration renewed after it expired is a new one") {
        CHECK(r.add(1, tuple(40000), t0 + 61s) == ReportRouter::AddOutcome::Added);
        CHECK(r.route(tuple(40000), t0 + 61s) == ReplayerId{1});
    }
}

TEST_CASE("no takeover: a live tuple stays its owner's; refusals are counted",
          "[intercept][door]") {
    ReportRouter r(60s);
    r.add(1, tuple(40000), t0);
    r.add(1, tuple(40001), t0);
    CHECK(r.add(2, tuple(40000), t0 + 1s) == ReportRouter::AddOutcome::Refused);
    CHECK(r.counters().refused == 1);
    CHECK(r.route(tuple(40000), t0 + 2s) == ReplayerId{1});
    CHECK(r.owned_by(1) == 2);
    CHECK(r.owned_by(2) == 0);
    // The refused replayer cannot unregister it either.
    CHECK_FALSE(r.remove(2, tuple(40000)));
    CHECK(r.route(tuple(40000), t0 + 2s) == ReplayerId{1});
    // A refusal is no use: it does not keep the owner's registration alive.
    CHECK(r.add(2, tuple(40001), t0 + 59s) == ReportRouter::AddOutcome::Refused);
    CHECK(r.expire(t0 + 60s) == 1);  // 40001: last used at t0
    CHECK(r.owned_by(1) == 1);

    SECTION("released when the owner unregisters it") {
        CHECK(r.remove(1, tuple(40000)));
        CHECK(r.add(2, tuple(40000), t0 + 3s) == ReportRouter::AddOutcome::Added);
        CHECK(r.route(tuple(40000), t0 + 3s) == ReplayerId{2});
    }
    SECTION("released when the owner disconnects") {
        CHECK(r.drop_replayer(1) == 1);
        CHECK(r.add(2, tuple(40000), t0 + 3s) == ReportRouter::AddOutcome::Added);
        CHECK(r.route(tuple(40000), t0 + 3s) == ReplayerId{2});
    }
    SECTION("released when its registration expires (--expiry)") {
        // Last used at t0 + 2s (the route above): expired at t0 + 62s, not before.
        CHECK(r.add(2, tuple(40000), t0 + 61s) == ReportRouter::AddOutcome::Refused);
        CHECK(r.add(2, tuple(40000), t0 + 62s) == ReportRouter::AddOutcome::Added);
        CHECK(r.route(tuple(40000), t0 + 62s) == ReplayerId{2});
        CHECK(r.owned_by(1) == 0);
        CHECK(r.owned_by(2) == 1);
    }
}

TEST_CASE("unregister removes only the caller's own tuples", "[intercept]") {
    ReportRouter r(60s);
    r.add(1, tuple(40000), t0);
    r.add(2, tuple(40001), t0);
    CHECK_FALSE(r.remove(1, tuple(40001)));
    CHECK_FALSE(r.remove(1, tuple(49999)));
    CHECK(r.remove(1, tuple(40000)));
    CHECK_FALSE(r.remove(1, tuple(40000)));
    CHECK_FALSE(r.route(tuple(40000), t0));
    CHECK(r.route(tuple(40001), t0) == ReplayerId{2});
    CHECK(r.counters().removed == 1);
    CHECK(r.owned_by(1) == 0);
}

TEST_CASE("a replayer's disconnect drops all its tuples and nobody else's", "[intercept]") {
    ReportRouter r(60s);
    for (uint16_t p = 1; p <= 100; ++p) {
        r.add(p % 2 == 0 ? 1 : 2, tuple(p), t0);
    }
    CHECK(r.drop_replayer(1) == 50);
    CHECK(r.drop_replayer(1) == 0);
    CHECK(r.drop_replayer(99) == 0);
    CHECK(r.size() == 50);
    for (uint16_t p = 1; p <= 100; ++p) {
        CAPTURE(p);
        if (p % 2 == 0) {
            CHECK_FALSE(r.route(tuple(p), t0));
        } else {
            CHECK(r.route(tuple(p), t0) == ReplayerId{2});
        }
    }
    CHECK(r.counters().dropped_with_replayer == 50);
}

TEST_CASE("misrouting is impossible: tuples differing in one field route exactly", "[intercept]") {
    // tcpcopy's intercept kept 16 bits of a hash: 65536 client ports collide by construction.
    ReportRouter r(60s);
    constexpr uint32_t kPorts = 65535;
    for (uint32_t p = 1; p <= kPorts; ++p) {
        const auto port = static_cast<uint16_t>(p);
        r.add(p % 7, tuple(port), t0);                                     // IPv4, by client port
        r.add(1000 + p % 5, tuple(port, "fd00::1", "fd00::2", 8080), t0);  // IPv6 likewise
    }
    for (uint16_t sp = 1; sp <= 500; ++sp) {
        r.add(2000 + sp, tuple(40000, "10.0.0.1", "10.0.0.2", static_cast<uint16_t>(sp + 1000)),
              t0);  // same client, server ports differ
    }
    REQUIRE(r.size() == 2 * kPorts + 500);
    size_t wrong = 0;
    for (uint32_t p = 1; p <= kPorts; ++p) {
        const auto port = static_cast<uint16_t>(p);
        wrong += r.route(tuple(port), t0) != ReplayerId{p % 7};
        wrong += r.route(tuple(port, "fd00::1", "fd00::2", 8080), t0) != ReplayerId{1000 + p % 5};
        // Near misses: another server port, client address or family: never routed.
        wrong += r.route(tuple(port, "10.0.0.1", "10.0.0.2", 81), t0).has_value();
        wrong += r.route(tuple(port, "10.0.0.9"), t0).has_value();
        wrong += r.route(tuple(port, "fd00::1", "fd00::2", 80), t0).has_value();
    }
    for (uint16_t sp = 1; sp <= 500; ++sp) {
        wrong += r.route(tuple(40000, "10.0.0.1", "10.0.0.2", static_cast<uint16_t>(sp + 1000)),
                         t0) != ReplayerId{2000u + sp};
    }
    CHECK(wrong == 0);
}
