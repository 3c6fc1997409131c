// endpoint_name: HTTP method + path with ids collapsed, Redis command names, and the first bytes
// of anything else.
#include "replayer/sessions/endpoint_name.h"

#include <string>

#include <catch2/catch.hpp>

namespace tcpr::replay {
namespace {

std::string name(const std::string& text, EndpointRules rules = {}) {
    return endpoint_name(
               std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
               rules)
        .name;
}

}  // namespace

TEST_CASE("endpoint names of HTTP requests collapse ids and drop the query", "[replay][endpoint]") {
    CHECK(name("GET / HTTP/1.1\r\nHost: x\r\n\r\n") == "GET /");
    CHECK(name("GET /user/123/photo?size=2 HTTP/1.1\r\n\r\n") == "GET /user/{n}/photo");
    CHECK(name("DELETE /o/6f1c2a9e-0b1d-4c3e-9f00-aa11bb22cc33 HTTP/1.1\r\n") ==
          "DELETE /o/{uuid}");
    CHECK(name("PUT /blob/0123456789abcdef0123 HTTP/1.0\r\n") == "PUT /blob/{hex}");
    CHECK(name("GET /v2/items/ HTTP/1.1\r\n") == "GET /v2/items/");
    CHECK(name("GET http://example.com/a/9 HTTP/1.1\r\n") == "GET /a/{n}");
    CHECK(name("POST /api/x#frag HTTP/1.1\r\n") == "POST /api/x");
    CHECK(name("GET /abc123 HTTP/1.1\r\n") == "GET /abc123");  // mixed: kept
}

TEST_CASE("endpoint names of Redis commands and other protocols", "[replay][endpoint]") {
    CHECK(name("*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n") == "redis SET");
    CHECK(name("*1\r\n$4\r\nPING\r\n") == "redis PING");
    CHECK(name("HELO mail.example.com\r\n") == "HELO mail.exampl");
    EndpointRules r;
    r.prefix_bytes = 4;
    CHECK(name(std::string("\x16\x03\x01\x02\x00", 5), r) == "....");
    CHECK(name("") == "(no request: the server spoke first)");
    CHECK(name("GET /only-a-start") == "GET /only-a-star");  // no request line end: not HTTP
}

TEST_CASE("endpoint names say whether a protocol's rule named them", "[replay][endpoint]") {
    const auto of = [](const std::string& t) {
        return endpoint_name(
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(t.data()), t.size()));
    };
    CHECK(of("GET / HTTP/1.1\r\n").known);
    CHECK(of("*1\r\n$4\r\nPING\r\n").known);
    CHECK_FALSE(of("body bytes of a POST").known);
}

}  // namespace tcpr::replay
