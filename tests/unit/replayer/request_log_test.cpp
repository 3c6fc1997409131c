// --report requests: one JSON line per replayed answer (transport/request_log.h).
#include "replayer/transport/request_log.h"

#include <catch2/catch.hpp>

#include "support/json_lite.h"

namespace tcpr::replay {
namespace {

net::Endpoint ep(const char* addr, uint16_t port) {
    return net::Endpoint{*net::IpAddress::parse(addr), port};
}

}  // namespace

TEST_CASE("a request line holds both answers and the verdicts, as valid JSON",
          "[replay][requests]") {
    RequestEntry e;
    e.session = 4;
    e.loop = 1;
    e.request = 2;
    e.client = ep("10.0.0.1", 40000);
    e.endpoint = "GET /a\"b";
    e.recorded = {"HTTP/1.1 200 OK", 1200, 0x1234, 0x99, 150, 300};
    e.replayed = {"HTTP/1.1 200 \x01OK", 1200, 0x1235, 0x99, 180, kNoLatency};
    const std::string line = format_request_entry(e);
    REQUIRE(line.back() == '\n');
    const test::Json j = test::Json::parse(line);
    CHECK(j["session"].as_u64() == 4);
    CHECK(j["loop"].as_u64() == 1);
    CHECK(j["request"].as_u64() == 2);
    CHECK(j["client"].as_string() == "10.0.0.1:40000");
    CHECK(j["endpoint"].as_string() == "GET /a\"b");
    CHECK(j["recorded"]["body_digest"].as_string() == "0000000000001234");
    CHECK(j["recorded"]["first_us"].as_u64() == 150);
    CHECK(j["replayed"]["last_us"].is_null());
    CHECK(j["replayed"]["status"].as_string() == "HTTP/1.1 200 \x01OK");
    CHECK(j["status"].as_string() == "differs");
    CHECK(j["body"].as_string() == "differs");
    CHECK(j["headers"].as_string() == "same");

    e.replayed.body_digest = 0;  // not known: bytes missing or incomplete
    e.replayed.status = "";
    const test::Json k = test::Json::parse(format_request_entry(e));
    CHECK(k["body"].as_string() == "unknown");
    CHECK(k["status"].as_string() == "unknown");
    CHECK(k["replayed"]["body_digest"].is_null());
}

}  // namespace tcpr::replay
