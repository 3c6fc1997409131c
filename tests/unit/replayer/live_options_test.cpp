// Live passthrough's command line: tcpcopy's spelling, the live-only and file-only options,
// and the capture filter that keeps our own copies out of the capture.
#include <CLI/CLI.hpp>
#include <catch2/catch.hpp>

#include "common/base/error.h"
#include "replayer/cli/options.h"
#include "replayer/run/live_replay.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kSec = 1'000'000'000;

ReplayOptions parse(std::vector<std::string> args) {
    CLI::App app;
    CommandLine cl(app);
    std::vector<const char*> argv{"tcpreplay2"};
    for (const auto& a : args) {
        argv.push_back(a.c_str());
    }
    app.parse(static_cast<int>(argv.size()), argv.data());
    return cl.options();
}

}  // namespace

TEST_CASE("tcpcopy's spelling copies live traffic", "[replay][live][options]") {
    const ReplayOptions o = parse({"-x", "80-192.168.0.246:80", "-s", "192.168.0.247"});
    CHECK(is_live(o));
    CHECK(o.builder.selection.server_port == 80);
    CHECK(o.target.to_string() == "192.168.0.246:80");
    REQUIRE(o.intercept.has_value());
    CHECK(o.intercept->to_string() == "192.168.0.247:36524");
    CHECK(o.interface == "any");
    CHECK_FALSE(o.live.daemon);
    CHECK(o.live.record.empty());
}

TEST_CASE("the live options of the issue", "[replay][live][options]") {
    const ReplayOptions o = parse({"-i",
                                   "eth0",
                                   "-p",
                                   "80",
                                   "--target",
                                   "192.168.0.246:80",
                                   "--intercept",
                                   "192.168.0.247",
                                   "--copies",
                                   "2",
                                   "--sample",
                                   "30%",
                                   "--record",
                                   "monday.pcap.zst",
                                   "--idle-timeout",
                                   "30s",
                                   "--stats-interval",
                                   "1m",
                                   "--max-buffer",
                                   "64M",
                                   "-d",
                                   "--pidfile",
                                   "/run/t.pid",
                                   "--logfile",
                                   "/var/log/t.log",
                                   "--report",
                                   "json",
                                   "r.json",
                                   "--report",
                                   "html",
                                   "r.html"});
    CHECK(is_live(o));
    CHECK(o.interface == "eth0");
    CHECK(o.copies == 2);
    CHECK(o.builder.selection.sample_percent == 30.0);
    // Absolute: -d changes the working directory to /.
    CHECK(o.live.record.front() == '/');
    CHECK(o.live.record.size() > std::string("/monday.pcap.zst").size());
    CHECK(o.live.record.substr(o.live.record.size() - 16) == "/monday.pcap.zst");
    CHECK(o.live.idle_ns == 30 * kSec);
    CHECK(o.live.stats_interval_ns == 60 * kSec);
    CHECK(o.live.max_buffer_bytes == 64'000'000);
    CHECK(o.live.daemon);
    CHECK(o.live.pidfile == "/run/t.pid");
    CHECK(o.live.logfile == "/var/log/t.log");
    CHECK(o.report_json.front() == '/');
    CHECK(o.report_html.front() == '/');
    CHECK(o.report_html.substr(o.report_html.size() - 7) == "/r.html");
}

TEST_CASE("live and file options do not mix", "[replay][live][options]") {
    CHECK_THROWS_WITH(parse({"--target", "10.0.0.2:80", "--intercept", "10.0.0.3"}),
                      "nothing to replay: give --in FILE (an archive or pcap), or the online port "
                      "to copy live (-p PORT, or tcpcopy's -x PORT-TARGET_IP:PORT)");
    CHECK_THROWS_WITH(parse({"--in", "a.pcap", "--target", "10.0.0.2:80", "--record", "b.zst"}),
                      "--record applies to live passthrough (without --in)");
    CHECK_THROWS_WITH(parse({"--in", "a.pcap", "--target", "10.0.0.2:80", "-d"}),
                      "--daemon applies to live passthrough (without --in)");
    CHECK_THROWS_WITH(parse({"-p", "80", "--target", "10.0.0.2:80", "--speed", "2x"}),
                      "--speed applies to replaying a file (--in): live sessions are copied as "
                      "they happen");
    CHECK_THROWS_WITH(parse({"-p", "80", "--target", "10.0.0.2:80", "--loop", "2"}),
                      "--loop applies to replaying a file (--in): live sessions are copied as "
                      "they happen");
    CHECK_THROWS_WITH(parse({"-p", "80", "--target", "10.0.0.2:80", "--sessions", "10m-20m"}),
                      "--sessions FROM-TO applies to files: live sessions are copied as they "
                      "happen");
    CHECK_THROWS_WITH(parse({"-p", "80", "--target", "10.0.0.2:80", "--logfile", "x.log"}),
                      "--logfile needs -d/--daemon (in the foreground, diagnostics go to stderr)");
    CHECK_THROWS_AS(parse({"-p", "80", "--target", "10.0.0.2:80", "--idle-timeout", "soon"}),
                    Error);
    // A client network still selects live sessions.
    const ReplayOptions o =
        parse({"-p", "80", "--target", "10.0.0.2:80", "--sessions", "10.1.0.0/16,25%"});
    CHECK(o.builder.selection.client_nets.size() == 1);
    CHECK(o.builder.selection.sample_percent == 25.0);
}

TEST_CASE("the capture leaves out the copies sent to the target", "[replay][live][options]") {
    const auto target = net::Endpoint{*net::IpAddress::parse("192.168.0.246"), 8080};
    CHECK(live_filter(80, target) == "tcp port 80 and not (host 192.168.0.246 and tcp port 8080)");
}

}  // namespace tcpr::replay
