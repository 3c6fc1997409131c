#include "common/metrics/exposition.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/metrics/http.h"
#include "support/prom_text.h"

using tcpr::metrics::Bucket;
using tcpr::metrics::HttpRequest;
using tcpr::metrics::TextWriter;

TEST_CASE("a counter family has its HELP and TYPE lines before its sample", "[metrics]") {
    TextWriter w;
    w.counter("x_requests_total", "Requests sent\nto the target \\ all", 42);
    w.gauge("x_buffered_bytes", "Bytes held", 1.5);
    CHECK(w.text() ==
          "# HELP x_requests_total Requests sent\\nto the target \\\\ all\n"
          "# TYPE x_requests_total counter\n"
          "x_requests_total 42\n"
          "# HELP x_buffered_bytes Bytes held\n"
          "# TYPE x_buffered_bytes gauge\n"
          "x_buffered_bytes 1.5\n");
    const auto parsed = tcpr::test::parse_prom_text(w.text());
    CHECK(parsed.errors.empty());
    CHECK(parsed.help.at("x_requests_total") == "Requests sent\nto the target \\ all");
    CHECK(parsed.value("x_requests_total") == 42);
}

TEST_CASE("label values escape backslash, quote and newline", "[metrics]") {
    CHECK(tcpr::metrics::escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
    TextWriter w;
    w.family("x_dropped_total", TextWriter::Type::Counter, "Dropped");
    w.sample("x_dropped_total", {{"reason", "GET /a\"b\\c\n"}, {"zone", "eu"}}, uint64_t{3});
    CHECK(w.text().find("x_dropped_total{reason=\"GET /a\\\"b\\\\c\\n\",zone=\"eu\"} 3\n") !=
          std::string::npos);
    const auto parsed = tcpr::test::parse_prom_text(w.text());
    REQUIRE(parsed.errors.empty());
    CHECK(parsed.value("x_dropped_total", {{"reason", "GET /a\"b\\c\n"}}) == 3);
}

TEST_CASE("histogram buckets are cumulative and end with +Inf equal to the count", "[metrics]") {
    TextWriter w;
    w.family("x_latency_seconds", TextWriter::Type::Histogram, "Latency");
    const std::vector<Bucket> b = {{0.001, 2}, {0.01, 0}, {0.1, 5}};
    w.histogram("x_latency_seconds", {{"source", "replayed"}}, b, 0.25, 9);
    CHECK(w.text() ==
          "# HELP x_latency_seconds Latency\n"
          "# TYPE x_latency_seconds histogram\n"
          "x_latency_seconds_bucket{source=\"replayed\",le=\"0.001\"} 2\n"
          "x_latency_seconds_bucket{source=\"replayed\",le=\"0.01\"} 2\n"
          "x_latency_seconds_bucket{source=\"replayed\",le=\"0.1\"} 7\n"
          "x_latency_seconds_bucket{source=\"replayed\",le=\"+Inf\"} 9\n"
          "x_latency_seconds_sum{source=\"replayed\"} 0.25\n"
          "x_latency_seconds_count{source=\"replayed\"} 9\n");
    CHECK(tcpr::test::parse_prom_text(w.text()).errors.empty());
}

TEST_CASE("values: integers exact, fractions round-trip, infinities and NaN by name", "[metrics]") {
    CHECK(tcpr::metrics::format_value(0) == "0");
    CHECK(tcpr::metrics::format_value(12345678901234.0) == "12345678901234");
    CHECK(tcpr::metrics::format_value(0.1) == "0.1");
    CHECK(std::stod(tcpr::metrics::format_value(1.0 / 3)) == 1.0 / 3);
    CHECK(tcpr::metrics::format_value(INFINITY) == "+Inf");
    CHECK(tcpr::metrics::format_value(-INFINITY) == "-Inf");
    CHECK(tcpr::metrics::format_value(NAN) == "NaN");
}

TEST_CASE("bad metric and label names and a family written twice are refused", "[metrics]") {
    CHECK(tcpr::metrics::valid_metric_name("a:b_c9"));
    CHECK_FALSE(tcpr::metrics::valid_metric_name("9a"));
    CHECK_FALSE(tcpr::metrics::valid_metric_name("a-b"));
    CHECK_FALSE(tcpr::metrics::valid_label_name("__reserved"));
    CHECK_FALSE(tcpr::metrics::valid_label_name("a:b"));
    TextWriter w;
    CHECK_THROWS_AS(w.family("bad name", TextWriter::Type::Gauge, "x"), std::logic_error);
    w.family("x_total", TextWriter::Type::Counter, "x");
    CHECK_THROWS_AS(w.family("x_total", TextWriter::Type::Counter, "x"), std::logic_error);
    CHECK_THROWS_AS(w.sample("x_total", {{"le-x", "1"}}, uint64_t{1}), std::logic_error);
}

TEST_CASE("the test parser rejects what the format does not allow", "[metrics]") {
    using tcpr::test::parse_prom_text;
    CHECK_FALSE(parse_prom_text("x 1\n").errors.empty());  // no TYPE
    CHECK_FALSE(parse_prom_text("# TYPE x counter\nx_total 1\n").errors.empty());
    CHECK_FALSE(parse_prom_text("# TYPE x_total counter\nx_total{a=\"b} 1\n").errors.empty());
    CHECK_FALSE(parse_prom_text("# TYPE x_total counter\nx_total one\n").errors.empty());
    CHECK_FALSE(parse_prom_text("# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} "
                                "2\nh_count 2\nh_sum 1\n")
                    .errors.empty());
    CHECK(parse_prom_text("# TYPE x_total counter\nx_total{a=\"\\\"\"} 1\n").errors.empty());
}

TEST_CASE("HTTP requests are classified by method, path and shape", "[metrics]") {
    using tcpr::metrics::classify_request;
    CHECK(classify_request("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 8192) ==
          HttpRequest::Metrics);
    CHECK(classify_request("GET /metrics?x=1 HTTP/1.0\n\n", 8192) == HttpRequest::Metrics);
    CHECK(classify_request("HEAD /metrics HTTP/1.1\r\n\r\n", 8192) == HttpRequest::MetricsHead);
    CHECK(classify_request("GET / HTTP/1.1\r\n\r\n", 8192) == HttpRequest::NotFound);
    CHECK(classify_request("POST /metrics HTTP/1.1\r\n\r\n", 8192) ==
          HttpRequest::MethodNotAllowed);
    CHECK(classify_request("GET /metrics HTTP/1.1\r\nHost", 8192) == HttpRequest::NeedMore);
    CHECK(classify_request("GET /metrics\r\n\r\n", 8192) == HttpRequest::BadRequest);
    CHECK(classify_request("GET /metrics SPDY/3\r\n\r\n", 8192) == HttpRequest::BadRequest);
    CHECK(classify_request(std::string("\x16\x03\x01\x02\x00", 5), 8192) ==
          HttpRequest::BadRequest);  // a TLS hello: refused before any end of head
    CHECK(classify_request("GET /" + std::string(9000, 'a'), 8192) == HttpRequest::TooLarge);
    const std::string ok = tcpr::metrics::http_response(HttpRequest::Metrics, "x_total 1\n");
    CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(ok.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
          std::string::npos);
    CHECK(ok.find("Connection: close\r\n") != std::string::npos);
    CHECK(ok.find("Content-Length: 10\r\n") != std::string::npos);
    const std::string head = tcpr::metrics::http_response(HttpRequest::MetricsHead, "x_total 1\n");
    CHECK(head.substr(head.size() - 4) == "\r\n\r\n");
}
