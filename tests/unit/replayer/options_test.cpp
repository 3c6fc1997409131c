// Command-line values: speeds, tcpcopy's -x, --sessions, percentages, HOST[:PORT], and the
// whole CommandLine with CLI11.
#include "replayer/cli/options.h"

#include <chrono>

#include <CLI/CLI.hpp>
#include <catch2/catch.hpp>

#include "common/base/error.h"
#include "common/os/resolve.h"

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

TEST_CASE("speeds", "[replay][options]") {
    CHECK(parse_speed("1x", "--speed") == 1000);
    CHECK(parse_speed("2x", "--speed") == 2000);
    CHECK(parse_speed("2", "--speed") == 2000);
    CHECK(parse_speed("0.5x", "--speed") == 500);
    CHECK(parse_speed("1.25X", "--speed") == 1250);
    CHECK(parse_speed("max", "--speed") == 0);
    CHECK_THROWS_WITH(parse_speed("fast", "--speed"),
                      "bad value 'fast' for --speed (expected a factor such as 0.5x, 1x, 2x, "
                      "or max)");
    CHECK_THROWS_AS(parse_speed("0x", "--speed"), Error);
    CHECK_THROWS_AS(parse_speed("-1x", "--speed"), Error);
    CHECK_THROWS_AS(parse_speed("2xx", "--speed"), Error);
}

TEST_CASE("tcpcopy's -x mapping", "[replay][options]") {
    auto [port, target] = parse_tcpcopy_mapping("80-192.168.0.246:8080");
    CHECK(port == 80);
    CHECK(target.to_string() == "192.168.0.246:8080");
    std::tie(port, target) = parse_tcpcopy_mapping("10.0.0.1:81-[fd00::2]:80");
    CHECK(port == 81);
    CHECK(target.to_string() == "[fd00::2]:80");
    CHECK_THROWS_AS(parse_tcpcopy_mapping("80"), Error);
    CHECK_THROWS_AS(parse_tcpcopy_mapping("80-10.0.0.1"), Error);  // the target needs a port
    CHECK_THROWS_AS(parse_tcpcopy_mapping("80-10.0.0.1:80,81-10.0.0.1:81"), Error);
    CHECK_THROWS_AS(parse_tcpcopy_mapping("x-10.0.0.1:80"), Error);
}

TEST_CASE("session selection items (--sessions)", "[replay][options]") {
    Selection s;
    parse_sessions("10m-20m,10.1.0.0/16,25%", s);
    CHECK(s.from_ns == 600 * kSec);
    REQUIRE(s.to_ns);
    CHECK(*s.to_ns == 1200 * kSec);
    REQUIRE(s.client_nets.size() == 1);
    CHECK(s.client_nets[0].prefix_len == 16);
    CHECK(s.sample_percent == 25.0);
    Selection open_end;
    parse_sessions("90s-", open_end);
    CHECK(open_end.from_ns == 90 * kSec);
    CHECK_FALSE(open_end.to_ns);
    Selection head;
    parse_sessions("-30s", head);
    CHECK(head.from_ns == 0);
    CHECK(*head.to_ns == 30 * kSec);
    Selection bad;
    CHECK_THROWS_AS(parse_sessions("20m-10m", bad), Error);
    CHECK_THROWS_AS(parse_sessions("nonsense", bad), Error);
    CHECK_THROWS_AS(parse_sessions("10.0.0.0/99", bad), Error);
    CHECK_THROWS_AS(parse_sessions("10m-20m,", bad), Error);
    CHECK_THROWS_AS(parse_sessions("120%", bad), Error);
}

TEST_CASE("HOST[:PORT] splitting", "[replay][options]") {
    auto hp = os::split_host_port("10.0.0.1:80", "-t");
    CHECK(hp.host == "10.0.0.1");
    CHECK(*hp.port == 80);
    hp = os::split_host_port("fd00::1", "-t");
    CHECK(hp.host == "fd00::1");
    CHECK_FALSE(hp.port);
    hp = os::split_host_port("[fd00::1]:443", "-t");
    CHECK(hp.host == "fd00::1");
    CHECK(*hp.port == 443);
    hp = os::split_host_port("intercept.lab", "-s");
    CHECK(hp.host == "intercept.lab");
    CHECK_THROWS_AS(os::split_host_port(":80", "-t"), Error);
    CHECK_THROWS_AS(os::split_host_port("10.0.0.1:0", "-t"), Error);
    CHECK_THROWS_AS(os::split_host_port("10.0.0.1:", "-t"), Error);
    CHECK(os::resolve_endpoint("10.0.0.9", 36524, "-s").to_string() == "10.0.0.9:36524");
    CHECK_THROWS_AS(os::resolve_endpoint("10.0.0.9", 0, "--target"), Error);
}

TEST_CASE("the command line with tcpcopy aliases", "[replay][options]") {
    const ReplayOptions o = parse({"--in",     "x.pcap.zst",
                                   "-x",       "80-192.168.0.246:80",
                                   "-s",       "192.168.0.247",
                                   "-n",       "3",
                                   "--speed",  "2x",
                                   "--loop",   "2",
                                   "--report", "json",
                                   "r.json",   "--duration",
                                   "10m",      "--timeout",
                                   "5s",       "--max-failed",
                                   "2.5%"});
    CHECK(o.input == "x.pcap.zst");
    CHECK(o.target.to_string() == "192.168.0.246:80");
    REQUIRE(o.intercept);
    CHECK(o.intercept->to_string() == "192.168.0.247:36524");
    CHECK(*o.builder.selection.server_port == 80);
    CHECK(o.copies == 3);
    CHECK(o.speed_milli == 2000);
    CHECK(o.loops == 2);
    CHECK(o.report_json == "r.json");
    CHECK(*o.duration_ns == 600 * kSec);
    CHECK(o.timeout_ns == 5 * kSec);
    CHECK(o.max_failed_percent == 2.5);
    CHECK(o.transport == TransportMode::Raw);
}

TEST_CASE("several inputs and globs after one --in or repeated", "[replay][options][inputs]") {
    ReplayOptions o = parse({"--in", "a.pcap.zst", "web-*.pcap.zst", "--target", "10.0.0.1:80",
                             "--transport", "socket"});
    CHECK(o.inputs == std::vector<std::string>{"a.pcap.zst", "web-*.pcap.zst"});
    CHECK(o.input == "a.pcap.zst web-*.pcap.zst");
    CHECK(!is_live(o));
    o = parse(
        {"-r", "a.pcap", "--in", "b.pcap", "--target", "10.0.0.1:80", "--transport", "socket"});
    CHECK(o.inputs == std::vector<std::string>{"a.pcap", "b.pcap"});
}

TEST_CASE("shards: I/N, or auto from a Kubernetes Indexed Job's environment",
          "[replay][options][shard]") {
    Shard s = parse_shard("1/3", nullptr, nullptr);
    CHECK(s.index == 1);
    CHECK(s.count == 3);
    s = parse_shard("auto", "2", "3");
    CHECK(s.index == 2);
    CHECK(s.count == 3);
    s = parse_shard("auto/4", "3", "9");  // N from the flag wins
    CHECK(s.count == 4);
    CHECK(parse_shard("0/1", nullptr, nullptr).count == 1);
    const auto refused = [](const char* text, const char* index, const char* count,
                            const char* why) {
        CAPTURE(text);
        try {
            parse_shard(text, index, count);
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::Usage);
            CHECK_THAT(e.what(), Catch::Contains(why));
        }
    };
    refused("3/3", nullptr, nullptr, "numbered 0 to 2");
    refused("1/0", nullptr, nullptr, "N must be 1 to");
    refused("1", nullptr, nullptr, "expected I/N");
    refused("a/3", nullptr, nullptr, "not a whole number");
    refused("1/3x", nullptr, nullptr, "not a whole number");
    refused("auto", nullptr, "3", "JOB_COMPLETION_INDEX is not set");
    refused("auto", "1", nullptr, "set TCPR_SHARDS");
    refused("auto", "5", "3", "numbered 0 to 2");
    refused("auto", "-1", "3", "not a whole number");

    const ReplayOptions o = parse({"--in", "a.pcap.zst", "--target", "10.0.0.1:80", "--transport",
                                   "socket", "--shard", "2/5"});
    CHECK(o.shard == 2);
    CHECK(o.shards == 5);
    CHECK(o.builder.selection.shard == 2);
    CHECK(o.builder.selection.shards == 5);
    CHECK_THROWS_AS(parse({"--target", "10.0.0.1:80", "--shard", "0/2"}), Error);  // live
}

TEST_CASE("report files: json and html, each at most once", "[replay][options][html]") {
    const std::vector<std::string> base{"--in", "x", "-t", "10.0.0.1:80"};
    auto with = [&](std::vector<std::string> more) {
        std::vector<std::string> args = base;
        args.insert(args.end(), more.begin(), more.end());
        return parse(args);
    };
    ReplayOptions o = with({"--report", "json", "r.json", "--report", "html", "r.html", "-q"});
    CHECK(o.report_json == "r.json");
    CHECK(o.report_html == "r.html");
    o = with({"--report", "html", "r.html", "--copies", "2", "--report", "r.json"});
    CHECK(o.report_json == "r.json");
    CHECK(o.report_html == "r.html");
    CHECK(o.copies == 2);
    o = with({"--report", "r.json"});  // one argument: json, as before
    CHECK(o.report_json == "r.json");
    CHECK(o.report_html.empty());
    o = with({});
    CHECK(o.report_json.empty());
    CHECK(o.report_html.empty());
    CHECK_THROWS_WITH(with({"--report", "html", "a.html", "--report", "html", "b.html"}),
                      "--report html given twice");
    CHECK_THROWS_WITH(with({"--report", "r.json", "--report", "json", "s.json"}),
                      "--report json given twice");
    CHECK_THROWS_WITH(with({"--report", "html"}),
                      "--report html: give the file: --report html FILE");
    CHECK_THROWS_WITH(with({"--report", "json", "a", "b"}),
                      "--report takes FORMAT FILE or FILE (json)");
    o = with({"--report", "requests", "r.jsonl"});
    CHECK(o.report_requests == "r.jsonl");
    CHECK_THROWS_WITH(with({"--report", "requests", "r.jsonl", "--no-compare"}),
                      "--report requests compares every answer: it cannot go with --no-compare");
    CHECK_THROWS_WITH(with({"--report", "xml", "r.xml"}),
                      "--report xml: the report formats are json, html and requests");
}

TEST_CASE("noise rules: given on the command line, compiled once, bad ones refused",
          "[replay][options]") {
    const ReplayOptions o =
        parse({"--in", "x", "-t", "10.0.0.1:80", "--ignore", "[0-9]{10}", "--ignore-json",
               "$.meta.request_id", "--ignore-header", "X-Trace", "--compare-header", "ETag"});
    REQUIRE(o.noise != nullptr);
    CHECK(o.builder.noise == o.noise.get());
    CHECK(o.noise->ignores_header("x-trace"));
    CHECK_FALSE(o.noise->ignores_header("etag"));
    CHECK(o.noise->ignores_header("date"));
    CHECK(o.noise->has_body_rules());
    CHECK_THROWS(parse({"--in", "x", "-t", "10.0.0.1:80", "--ignore", "(unclosed"}));
    CHECK(parse({"--in", "x", "-t", "10.0.0.1:80", "--endpoint-bytes", "8"})
              .builder.endpoints.prefix_bytes == 8);
    CHECK_THROWS(parse({"--in", "x", "-t", "10.0.0.1:80", "--endpoint-bytes", "0"}));
}

TEST_CASE("the start time (--start-at): a wall-clock time, at most a day ahead",
          "[replay][options]") {
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    const ReplayOptions o =
        parse({"--in", "x", "-t", "10.0.0.1:80", "--start-at", std::to_string(now_s + 60)});
    REQUIRE(o.start_at_ns.has_value());
    CHECK(*o.start_at_ns == static_cast<uint64_t>(now_s + 60) * 1'000'000'000ULL);
    CHECK_THROWS_WITH(
        parse({"--in", "x", "-t", "10.0.0.1:80", "--start-at", std::to_string(now_s + 90'000)}),
        "--start-at " + std::to_string(now_s + 90'000) + " is more than 24 h away");
    CHECK_THROWS(parse({"--in", "x", "-t", "10.0.0.1:80", "--ignore-json", "meta.id"}));
}

TEST_CASE("command-line errors are one clear line", "[replay][options]") {
    CHECK_THROWS_WITH(parse({"--in", "x"}), "no target: give --target IP:PORT (or tcpcopy's -x)");
    CHECK_THROWS_WITH(parse({"--in", "x", "-t", "10.0.0.1:80", "-x", "80-10.0.0.1:80"}),
                      "give either -x or --target, not both");
    CHECK_THROWS_WITH(parse({"--in", "x", "-t", "10.0.0.1:80", "--report", "xml", "f"}),
                      "--report xml: the report formats are json, html and requests");
    CHECK_THROWS_WITH(parse({"--in", "x", "-t", "10.0.0.1:80", "--client-pool", "fd00::/64"}),
                      "--client-pool fd00::/64 is not of the target's IP version");
    CHECK_THROWS_WITH(parse({"--in", "x", "-t", "10.0.0.1:80", "--inject", "pcap"}),
                      "--inject pcap needs the interface: -i IFACE");
    // Two transports: raw and socket; CLI11 rejects the rest.
    CHECK_THROWS_AS(parse({"--in", "x", "-t", "10.0.0.1:80", "--transport", "udp"}),
                    CLI::ValidationError);
    CHECK_THROWS_WITH(parse({"--in", "x", "-t", "10.0.0.1:80", "--diff", "d.txt"}),
                      "--diff needs --transport socket (raw replay sees only the first bytes of "
                      "each response)");
}

TEST_CASE("the socket transport and its --diff file", "[replay][options]") {
    const ReplayOptions o = parse({"--in", "x.pcap.zst", "-t", "10.0.0.1:6379", "--transport",
                                   "socket", "--diff", "d.txt", "-n", "2"});
    CHECK(o.transport == TransportMode::Socket);
    CHECK(o.diff_file == "d.txt");
    CHECK_FALSE(o.intercept);  // no intercept needed
    CHECK(o.copies == 2);
}

TEST_CASE("the request-boundary policy from the command line", "[replay][options]") {
    const ReplayOptions d = parse({"--in", "x.pcap", "--target", "10.0.0.2:80"});
    CHECK(d.builder.policy.split_on_ack);
    CHECK(d.builder.policy.recognize_starts);
    CHECK(d.builder.policy.pause_ns == 1 * kSec);
    const ReplayOptions o = parse({"--in", "x.pcap", "--target", "10.0.0.2:80", "--no-ack-split",
                                   "--no-request-start-guess", "--request-gap", "250ms"});
    CHECK_FALSE(o.builder.policy.split_on_ack);
    CHECK_FALSE(o.builder.policy.recognize_starts);
    CHECK(o.builder.policy.pause_ns == kSec / 4);
}

TEST_CASE("at --speed max concurrency is bounded unless --max-active says otherwise",
          "[replay][options]") {
    CHECK(parse({"--in", "x.pcap", "-t", "10.0.0.2:80"}).max_active == 100'000);
    CHECK(parse({"--in", "x.pcap", "-t", "10.0.0.2:80", "--speed", "max"}).max_active ==
          kMaxSpeedActive);
    CHECK(parse({"--in", "x.pcap", "-t", "10.0.0.2:80", "--speed", "max", "--max-active", "5000"})
              .max_active == 5000);
}

}  // namespace tcpr::replay
