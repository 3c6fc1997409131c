// End-to-end test of --metrics (docs/replay.md and docs/intercept.md, "Metrics"): during a live
// copy (client -> online nginx, copied by tcpreplay2 to a target nginx; intercept on an
// assistant host that receives the target's answers), both programs are scraped with curl on
// their namespace's loopback. Checks: the text parses as the Prometheus text format (every
// sample typed, counters ending in _total, histograms cumulative), the replayer's requests sent
// grow between two scrapes, intercept sees one replayer and reports, a wrong path is 404. Root
// only (fails loudly without it).
#include <chrono>
#include <cmath>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/e2e_helpers.h"
#include "support/netns_lab.h"
#include "support/prom_text.h"

namespace tcpr::test {
namespace {

using namespace std::chrono_literals;

constexpr uint16_t kInterceptPort = 36524;
const std::string kReplayerMetrics = "127.0.0.1:9464";
const std::string kInterceptMetrics = "127.0.0.1:9465";

struct Lab {
    std::string online_url, capture_if, target_ep, intercept_if, intercept_addr;
};

// client -- online (nginx + tcpreplay2) -- target (nginx) -- assistant (intercept): the
// target routes the clients' subnet to the assistant, which forwards nothing.
Lab make_lab(NetnsLab& lab) {
    NetnsLab::require_tool("curl", "as the HTTP client and the scraper");
    Lab r;
    for (const std::string host : {"client", "online", "target", "assistant"}) {
        lab.add_host(host);
    }
    const Link& co = lab.link("client", "online");
    const Link& ot = lab.link("online", "target");
    const Link& ta = lab.link("target", "assistant");
    const Link& oa = lab.link("online", "assistant");
    for (const std::string host : {"online", "target"}) {
        lab.set_sysctl(host, "net.ipv4.conf.all.rp_filter", "0");
        lab.set_sysctl(host, "net.ipv4.conf.default.rp_filter", "0");
    }
    lab.set_sysctl("target", "net.ipv4.conf." + ot.if_b + ".rp_filter", "0");
    lab.set_sysctl("assistant", "net.ipv4.ip_forward", "0");
    lab.set_sysctl("target", "net.ipv4.conf." + ta.if_a + ".rp_filter", "0");
    lab.add_route("target", co.subnet, ta.addr_b);
    r.capture_if = co.if_b;
    r.intercept_if = ta.if_b;
    r.intercept_addr = oa.addr_b;
    lab.start_nginx("online", co.addr_b, 80);
    lab.start_nginx("target", ot.addr_b, 80);
    r.online_url = "http://" + co.addr_b + ":80";
    r.target_ep = ot.addr_b + ":80";
    return r;
}

// curl's answer to GET url from inside `host`: the headers (-D -) and the body.
struct Scrape {
    std::string headers, body;
};

Scrape scrape(NetnsLab& lab, const std::string& host, const std::string& endpoint) {
    const CommandResult c = lab.run(
        host, {"curl", "-sS", "--max-time", "5", "-D", "-", "http://" + endpoint + "/metrics"});
    INFO(c.describe());
    REQUIRE(c.ok());
    const size_t end = c.out.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    return Scrape{c.out.substr(0, end + 2), c.out.substr(end + 4)};
}

PromText scrape_parsed(NetnsLab& lab, const std::string& host, const std::string& endpoint) {
    const Scrape s = scrape(lab, host, endpoint);
    INFO("headers:\n" << s.headers);
    CHECK(s.headers.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(s.headers.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
          std::string::npos);
    PromText t = parse_prom_text(s.body);
    INFO("metrics text:\n" << s.body);
    for (const std::string& e : t.errors) {
        FAIL_CHECK(e);
    }
    CHECK(t.errors.empty());
    return t;
}

// `rounds` curl runs of 3 keep-alive requests each against the online nginx; all must be 200.
void client_load(NetnsLab& lab, const Lab& r, int rounds, const std::string& tag) {
    std::ostringstream script;
    script
        << "set -e\nfor i in $(seq 1 " << rounds << "); do\n"
        << "  curl -sS --max-time 10 -o /dev/null -o /dev/null -o /dev/null -w '%{http_code}\\n' "
        << r.online_url << "/small " << r.online_url << "/api/" << tag << "$i " << r.online_url
        << "/large\ndone\n";
    const CommandResult c = lab.sh("client", script.str(), 60s);
    INFO(c.describe());
    REQUIRE(c.ok());
    for (const std::string& code : split_lines(c.out)) {
        CHECK(code == "200");
    }
}

}  // namespace

TEST_CASE_METHOD(NetnsLab, "metrics of tcpreplay2 and intercept move during a live copy",
                 "[e2e][live][metrics]") {
    const Lab r = make_lab(*this);
    Process& icpt = spawn("assistant",
                          {binary("intercept"), "-i", r.intercept_if, "-F", "tcp and src port 80",
                           "-b", r.intercept_addr, "--metrics", kInterceptMetrics},
                          "intercept");
    require_intercept_listening(icpt, r.intercept_addr, kInterceptPort);
    CHECK(icpt.stderr_text().find("serving metrics on http://" + kInterceptMetrics + "/metrics") !=
          std::string::npos);

    Process& live =
        spawn("online",
              {binary("tcpreplay2"), "-i", r.capture_if, "-p", "80", "--target", r.target_ep,
               "--intercept", r.intercept_addr, "--copies", "2", "--metrics", kReplayerMetrics},
              "tcpreplay2-live");
    const bool up = wait_until(
        [&] {
            return !live.running() ||
                   live.stderr_text().find("info: copying ") != std::string::npos;
        },
        10s);
    INFO("tcpreplay2: " << live.command() << "\nstderr: " << live.stderr_text());
    REQUIRE(up);
    REQUIRE(live.running());

    // Before any traffic: the families are there, at zero.
    const PromText before = scrape_parsed(*this, "online", kReplayerMetrics);
    CHECK(before.value("tcpreplay2_requests_sent_total") == 0);
    CHECK(before.types.at("tcpreplay2_response_first_byte_seconds") == "histogram");
    CHECK(before.types.at("tcpreplay2_live_buffered_bytes") == "gauge");

    client_load(*this, r, 3, "a");  // 9 online requests -> 18 copies
    double first = 0;
    REQUIRE(wait_until(
        [&] {
            first = scrape_parsed(*this, "online", kReplayerMetrics)
                        .value("tcpreplay2_requests_sent_total");
            return first >= 18;
        },
        15s));
    client_load(*this, r, 2, "b");  // 6 more -> 12 more copies
    PromText second;
    REQUIRE(wait_until(
        [&] {
            second = scrape_parsed(*this, "online", kReplayerMetrics);
            return second.value("tcpreplay2_requests_sent_total") >= first + 12;
        },
        15s));
    CHECK(second.value("tcpreplay2_requests_sent_total") > first);
    CHECK(second.value("tcpreplay2_sessions_started_total") >= 10);  // 5 connections x 2
    CHECK(second.value("tcpreplay2_live_connections_total") >= 5);
    CHECK(second.value("tcpreplay2_live_sessions_copied_total") >= 5);
    CHECK(second.value("tcpreplay2_responses_seen_total") > 0);
    CHECK(second.value("tcpreplay2_intercept_reports_total") > 0);
    CHECK(second.value("tcpreplay2_packets_sent_total") > 0);
    CHECK(second.value("tcpreplay2_packets_refused_total") == 0);
    CHECK(second.value("tcpreplay2_status_comparisons_total", {{"result", "match"}}) > 0);
    CHECK(second.value("tcpreplay2_response_first_byte_seconds_count", {{"source", "replayed"}}) >
          0);
    CHECK(second.value("tcpreplay2_copies") == 2);

    const PromText i = scrape_parsed(*this, "assistant", kInterceptMetrics);
    CHECK(i.value("intercept_replayers") == 1);
    CHECK(i.value("intercept_replayers_connected_total") == 1);
    CHECK(i.value("intercept_reports_sent_total") > 0);
    CHECK(i.value("intercept_packets_captured_total") > 0);
    CHECK(i.value("intercept_registrations_total") > 0);
    CHECK(i.value("intercept_reports_dropped_total", {{"reason", "queue_full"}}) == 0);
    CHECK(i.types.at("intercept_queued_bytes") == "gauge");

    // Another path: 404.
    const CommandResult nf =
        run("online", {"curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
                       "http://" + kReplayerMetrics + "/"});
    CHECK(nf.out == "404");

    live.signal(SIGINT);
    const auto code = live.wait(20s);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
}

}  // namespace tcpr::test
