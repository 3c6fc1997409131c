#include "intercept/metrics.h"

#include <string>

#include <catch2/catch.hpp>

#include "support/prom_text.h"

TEST_CASE("intercept's metrics parse and start at zero", "[metrics]") {
    tcpr::icpt::ServerOptions o;
    o.bind = tcpr::net::Endpoint{tcpr::net::IpAddress::v4(0x7f000001), 0};
    tcpr::icpt::ReportServer server(o, nullptr);
    const std::string text = tcpr::icpt::format_metrics(server, nullptr);
    const auto t = tcpr::test::parse_prom_text(text);
    INFO(text);
    REQUIRE(t.errors.empty());
    CHECK(t.value("intercept_replayers") == 0);
    CHECK(t.value("intercept_reports_sent_total") == 0);
    CHECK(t.value("intercept_reports_dropped_total", {{"reason", "queue_full"}}) == 0);
    CHECK(t.value("intercept_queued_bytes") == 0);
    CHECK(t.value("intercept_capture_drops_total", {{"where", "kernel"}}) == 0);
    CHECK(t.types.at("intercept_replayers") == "gauge");
}
