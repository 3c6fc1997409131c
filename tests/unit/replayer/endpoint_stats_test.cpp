// EndpointTable: requests grouped by endpoint, bodies after "100 Continue" under their request's
// endpoint, worst endpoints first, and exact merges of tables (several runs or replayers).
#include "replayer/transport/endpoint_stats.h"

#include <algorithm>
#include <string>

#include <catch2/catch.hpp>

namespace tcpr::replay {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

RecordedRequest recorded(uint32_t first_us, uint32_t last_us) {
    RecordedRequest r;
    r.answer_first_us = first_us;
    r.answer_last_us = last_us;
    return r;
}

}  // namespace

TEST_CASE("endpoint table groups requests and continues bodies", "[replay][endpoint]") {
    EndpointTable t;
    const std::string get1 = "GET /item/1 HTTP/1.1\r\n\r\n", get2 = "GET /item/2 HTTP/1.1\r\n\r\n";
    const uint32_t a = t.id_of(bytes(get1));
    CHECK(t.id_of(bytes(get2)) == a);
    const uint32_t post = t.id_of(bytes("POST /up HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"));
    const uint32_t body = t.id_of(bytes("xyzzy body bytes"), post);
    const uint32_t more = t.id_of(bytes("more body bytes"), body);
    CHECK(body == more);
    CHECK(t.all()[body].name == "POST /up (continued)");
    CHECK(t.all()[t.id_of(bytes("xyzzy body bytes"))].name == "xyzzy body bytes");
    t.record(a, recorded(100, 200), false, 150, 300);
    t.body_verdict(a, 1, 0, 0);
    t.record(a, recorded(kNoLatency, kNoLatency), true, kNoLatency, kNoLatency);
    t.body_verdict(a, 1, 1, 0);
    const EndpointStats& e = t.all()[a];
    CHECK(e.name == "GET /item/{n}");
    CHECK(e.requests == 2);
    CHECK(e.status_mismatch == 1);
    CHECK(e.body_compared == 2);
    CHECK(e.body_mismatch == 1);
    CHECK(e.recorded_first_us.count() == 1);
    CHECK(e.replayed_first_us.percentile(0.5) == 150);
    CHECK(t.ranked().front() == &e);  // the one with a mismatch comes first
}

TEST_CASE("a table names requests of no known protocol by its rules' first bytes",
          "[replay][endpoint]") {
    EndpointTable t(EndpointRules{4});
    const uint32_t a = t.id_of(bytes("\x01\x02\x03\x04-one"));
    const uint32_t b = t.id_of(bytes("\x01\x02\x03\x04-two"));
    CHECK(a == b);  // the same first 4 bytes: one endpoint
    CHECK(t.all().size() == 1);
}

TEST_CASE("endpoint tables merge exactly", "[replay][endpoint]") {
    EndpointTable one, two, both;
    const std::string get = "GET /a HTTP/1.1\r\n\r\n", set = "*1\r\n$4\r\nPING\r\n";
    for (uint32_t i = 0; i < 100; ++i) {
        EndpointTable& half = i % 2 ? one : two;
        const std::string& req = i % 3 ? get : set;
        half.record(half.id_of(bytes(req)), recorded(i, 2 * i), i % 7 == 0, 3 * i, 4 * i);
        half.body_verdict(half.id_of(bytes(req)), 1, 0, 0);
        both.record(both.id_of(bytes(req)), recorded(i, 2 * i), i % 7 == 0, 3 * i, 4 * i);
        both.body_verdict(both.id_of(bytes(req)), 1, 0, 0);
    }
    one.merge(two);
    REQUIRE(one.all().size() == both.all().size());
    for (const EndpointStats& e : both.all()) {
        const auto it = std::find_if(one.all().begin(), one.all().end(),
                                     [&](const EndpointStats& x) { return x.name == e.name; });
        REQUIRE(it != one.all().end());
        CHECK(it->requests == e.requests);
        CHECK(it->status_mismatch == e.status_mismatch);
        CHECK(it->replayed_first_us == e.replayed_first_us);
        CHECK(it->recorded_last_us == e.recorded_last_us);
    }
}

}  // namespace tcpr::replay

namespace tcpr::replay {

TEST_CASE("endpoints named when the recording was built are looked up, not parsed again",
          "[replay][endpoint]") {
    Recording rec;
    rec.endpoints = {"GET /named/{n}", "POST /x (continued)"};
    EndpointTable t;
    RecordedRequest r;
    r.endpoint = 0;
    // The bytes say otherwise: the recording's name wins (it was made from the same bytes).
    const uint32_t a = t.id_of(rec, r, bytes("GET /other HTTP/1.1\r\n\r\n"), EndpointTable::kNone);
    CHECK(t.all()[a].name == "GET /named/{n}");
    CHECK(t.id_of(rec, r, {}, a) == a);
    r.endpoint = kNoEndpoint;  // not named (live input): from the bytes
    const uint32_t b = t.id_of(rec, r, bytes("GET /other HTTP/1.1\r\n\r\n"), EndpointTable::kNone);
    CHECK(t.all()[b].name == "GET /other");
    CHECK(continued_name("POST /x") == "POST /x (continued)");
    CHECK(continued_name("POST /x (continued)") == "POST /x (continued)");
}

}  // namespace tcpr::replay
