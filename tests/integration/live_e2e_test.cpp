// End-to-end tests of live passthrough (tcpreplay2 without --in, tcpcopy's mode): a client
// namespace sends a bounded curl load to nginx in an "online" namespace, where tcpreplay2
// copies every connection (--copies 2) to a second nginx in a "target" namespace and records
// the captured traffic (--record); intercept runs on an assistant host, or on the target behind
// a dummy (or ifb) interface. Checks: the target's access log holds every online request
// (method and path) twice, the online clients saw no error, the archive verifies and replays
// (archive mode) to the same requests; -d runs in the background with a pid file and a log
// file of periodic stats lines; --sample copies whole connections (all of their requests or
// none); --transport socket copies without intercept; --max-lag sheds what copies far behind
// have not begun (the target stopped with SIGSTOP). Root only (they fail loudly without it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <signal.h>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/e2e_helpers.h"
#include "support/json_lite.h"
#include "support/netns_lab.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr uint16_t kInterceptPort = 36524;
constexpr uint64_t kCopies = 2;

// `10.99.0.1:50001 "GET /small HTTP/1.1" 200 ...` (samples/nginx.conf.in) -> "GET /small".
std::string request_of(const std::string& line) {
    INFO("access log line: " << line);
    const auto q1 = line.find('"');
    const auto q2 = line.find('"', q1 + 1);
    REQUIRE(q1 != std::string::npos);
    REQUIRE(q2 != std::string::npos);
    const std::string request_line = line.substr(q1 + 1, q2 - q1 - 1);
    const auto proto = request_line.rfind(' ');
    REQUIRE(proto != std::string::npos);
    return request_line.substr(0, proto);
}

std::map<std::string, uint64_t> request_counts(const std::vector<std::string>& lines) {
    std::map<std::string, uint64_t> counts;
    for (const auto& l : lines) {
        ++counts[request_of(l)];
    }
    return counts;
}

enum class Deployment { AssistantHost, SingleHost };

// client -- online (nginx + tcpreplay2) -- target (nginx); intercept on an assistant host
// (routes on the target send the client addresses' responses there) or on the target itself.
struct LiveLab {
    const Nginx* online = nullptr;
    const Nginx* target = nullptr;
    std::string online_url;     // http://online:80
    std::string capture_if;     // the online host's interface toward the clients
    std::string client_subnet;  // routed to intercept on the target
    std::string target_ep;      // target address:port
    std::string intercept_host, intercept_if, intercept_addr;
    std::string dummy_kind;
    Process* intercept = nullptr;
};

LiveLab make_live_lab(NetnsLab& lab, Deployment d, LinkOptions links = LinkOptions()) {
    NetnsLab::require_tool("curl", "as the HTTP client");
    LiveLab r;
    lab.add_host("client");
    lab.add_host("online");
    lab.add_host("target");
    const Link& co = lab.link("client", "online", links);
    const Link& ot = lab.link("online", "target", links);
    for (const std::string host : {"online", "target"}) {
        lab.set_sysctl(host, "net.ipv4.conf.all.rp_filter", "0");
        lab.set_sysctl(host, "net.ipv4.conf.default.rp_filter", "0");
    }
    // The copies arrive with the clients' addresses from the online host: no reverse-path drop.
    lab.set_sysctl("target", "net.ipv4.conf." + ot.if_b + ".rp_filter", "0");
    r.client_subnet = co.subnet;
    r.capture_if = co.if_b;
    if (d == Deployment::AssistantHost) {
        lab.add_host("assistant");
        const Link& ta = lab.link("target", "assistant", links);
        const Link& oa = lab.link("online", "assistant", links);
        lab.set_sysctl("assistant", "net.ipv4.ip_forward", "0");  // responses die here
        lab.set_sysctl("target", "net.ipv4.conf." + ta.if_a + ".rp_filter", "0");
        lab.add_route("target", co.subnet, ta.addr_b);
        r.intercept_host = "assistant";
        r.intercept_if = ta.if_b;
        r.intercept_addr = oa.addr_b;
    } else {
        r.dummy_kind = lab.add_dummy("target", "tcpr0", lab.fresh_subnet() + ".1/24");
        lab.add_route_dev("target", co.subnet, "tcpr0");
        r.intercept_host = "target";
        r.intercept_if = "tcpr0";
        r.intercept_addr = ot.addr_b;
    }
    r.online = &lab.start_nginx("online", co.addr_b, 80);
    r.target = &lab.start_nginx("target", ot.addr_b, 80);
    r.online_url = "http://" + co.addr_b + ":80";
    r.target_ep = ot.addr_b + ":80";
    return r;
}

void start_intercept(NetnsLab& lab, LiveLab& r) {
    Process& p = lab.spawn(r.intercept_host,
                           {binary("intercept"), "-i", r.intercept_if, "-F", "tcp and src port 80",
                            "-b", r.intercept_addr, "-q"},
                           "intercept");
    require_intercept_listening(p, r.intercept_addr, kInterceptPort);
    r.intercept = &p;
}

// Starts `argv` (a tcpreplay2 in live mode) in the online namespace; waits until it copies
// (its capture, and its sender and intercept connection if any, are up before it says so).
Process& spawn_live(NetnsLab& lab, const std::vector<std::string>& argv) {
    Process& p = lab.spawn("online", argv, "tcpreplay2-live");
    const bool up = wait_until(
        [&] { return !p.running() || p.stderr_text().find("info: copying ") != std::string::npos; },
        10s);
    INFO("tcpreplay2 did not start copying within 10 s: " << p.command()
                                                          << "\nstderr: " << p.stderr_text());
    REQUIRE(up);
    REQUIRE(p.running());
    return p;
}

// tcpreplay2 in live mode (raw transport, through intercept) in the online namespace.
Process& start_live(NetnsLab& lab, const LiveLab& r, std::vector<std::string> args) {
    std::vector<std::string> argv{
        binary("tcpreplay2"), "-i",          r.capture_if,    "-p", "80", "--target",
        r.target_ep,          "--intercept", r.intercept_addr};
    argv.insert(argv.end(), args.begin(), args.end());
    return spawn_live(lab, argv);
}

// The bounded client load: `rounds` x (one keep-alive connection with 3 requests, among them
// a 300 kB answer; one connection with 1 request), and every 5th round a 60 kB POST. Every
// request must succeed. Returns the number of HTTP requests made.
uint64_t client_load(NetnsLab& lab, const LiveLab& r, int rounds) {
    const fs::path body = lab.path("body.bin");
    {
        std::ofstream f(body, std::ios::binary);
        for (int i = 0; i < 60 * 1024; ++i) {
            f.put(static_cast<char>('a' + i * 7 % 26));
        }
    }
    const std::string u = r.online_url;
    std::ostringstream script;
    script << "set -e; n=0\n"
           << "for i in $(seq 1 " << rounds << "); do\n"
           << "  curl -sS --max-time 10 -o /dev/null -o /dev/null -o /dev/null "
           << "-w '%{http_code}\\n' " << u << "/small " << u << "/api/k$i?x=1 " << u << "/large\n"
           << "  curl -sS --max-time 10 -o /dev/null -w '%{http_code}\\n' " << u
           << "/api/single$i\n"
           << "  if [ $((i % 5)) -eq 0 ]; then curl -sS --max-time 10 -o /dev/null "
           << "-w '%{http_code}\\n' --data-binary @" << body.string() << " " << u << "/upload; fi\n"
           << "done\n";
    const CommandResult c = lab.sh("client", script.str(), 120s);
    INFO(c.describe());
    REQUIRE(c.ok());
    const auto codes = split_lines(c.out);
    const uint64_t expected = static_cast<uint64_t>(rounds) * 4 + static_cast<uint64_t>(rounds / 5);
    CHECK(codes.size() == expected);
    for (const auto& code : codes) {
        CHECK(code == "200");  // the online clients see no error
    }
    return codes.size();
}

// A bounded keep-alive load: `connections` curl runs one after the other, each one connection
// carrying `per_connection` GETs of paths unique to it (/api/s/<conn>/<k>). Every request must
// succeed, and curl must have reused its connection (one connect per run). Returns each
// connection's request lines ("GET /api/s/3/2"), in order.
std::vector<std::vector<std::string>> keepalive_load(NetnsLab& lab, const LiveLab& r,
                                                     uint64_t connections,
                                                     uint64_t per_connection) {
    std::vector<std::vector<std::string>> requests;
    std::ostringstream script;
    script << "set -e\n";
    for (uint64_t i = 1; i <= connections; ++i) {
        std::vector<std::string> conn;
        script << "curl -sS --max-time 10 -w '%{http_code} %{num_connects}\\n'";
        for (uint64_t k = 1; k <= per_connection; ++k) {
            const std::string path = "/api/s/" + std::to_string(i) + "/" + std::to_string(k);
            script << " -o /dev/null " << r.online_url << path;
            conn.push_back("GET " + path);
        }
        script << "\n";
        requests.push_back(std::move(conn));
    }
    const CommandResult c = lab.sh("client", script.str(), 120s);
    INFO(c.describe());
    REQUIRE(c.ok());
    const auto results = split_lines(c.out);
    REQUIRE(results.size() == connections * per_connection);
    for (size_t i = 0; i < results.size(); ++i) {
        CAPTURE(i);
        // The online clients see no error; a new connection only for a connection's first.
        CHECK(results[i] == (i % per_connection == 0 ? "200 1" : "200 0"));
    }
    return requests;
}

// The online access log shows each of `requests` exactly once, every request of a connection
// from the same client endpoint (one TCP connection, as the copies must treat it).
void check_online_connections(const std::vector<std::string>& online,
                              const std::vector<std::vector<std::string>>& requests) {
    std::map<std::string, std::vector<std::string>> clients;  // request -> client endpoints
    for (const auto& line : online) {
        clients[request_of(line)].push_back(line.substr(0, line.find(' ')));
    }
    for (const auto& conn : requests) {
        std::string endpoint;
        for (const auto& req : conn) {
            const auto& seen = clients[req];
            INFO("online request " << req);
            REQUIRE(seen.size() == 1);
            if (endpoint.empty()) {
                endpoint = seen.front();
            }
            CHECK(seen.front() == endpoint);
        }
    }
}

// The access log once it has at least `expected` lines and stopped growing (or after 15 s).
std::vector<std::string> settled_log(NetnsLab& lab, const Nginx& nginx, size_t expected) {
    return lab.settled_access_log(nginx, expected, 10, 15s);
}

// SIGINT (or SIGTERM), then REQUIRE a clean exit within 20 s; returns its stdout.
std::string stop_live(Process& p, int sig = SIGINT) {
    p.signal(sig);
    const auto code = p.wait(20s);
    INFO("tcpreplay2 after signal " << sig << ": " << p.command() << "\nstdout: " << p.stdout_text()
                                    << "\nstderr: " << p.stderr_text());
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    return p.stdout_text();
}

// Every online request reached the target `copies` times; returns the copy ratio.
double check_copies(const std::vector<std::string>& online, const std::vector<std::string>& target,
                    uint64_t copies, const std::string& what) {
    const auto on = request_counts(online);
    const auto tg = request_counts(target);
    uint64_t copied = 0;
    for (const auto& [req, n] : on) {
        const auto it = tg.find(req);
        copied += std::min<uint64_t>(it == tg.end() ? 0 : it->second, n * copies);
    }
    const double ratio =
        online.empty() ? 0.0
                       : static_cast<double>(copied) / static_cast<double>(online.size() * copies);
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s: %zu online requests, %zu on the target, copy ratio %.4f",
                  what.c_str(), online.size(), target.size(), ratio);
    WARN(buf);  // reported on every run
    CHECK(ratio >= 0.999);
    // Nothing else arrived either: every target request is a copy of an online one.
    std::map<std::string, uint64_t> expected;
    for (const auto& [req, n] : on) {
        expected[req] = n * copies;
    }
    CHECK(tg == expected);
    return ratio;
}

Json report_json(const fs::path& p) {
    INFO("the --report file " << p);
    REQUIRE(fs::exists(p));
    try {
        return Json::parse(read_text(p));
    } catch (const std::exception& e) {
        FAIL("the --report file is not valid JSON: " << e.what() << "\n" << read_text(p));
    }
    return Json();
}

// The comparison per endpoint of a live copy into a target serving the online site: the online
// server's answers are the recorded side; every body and head compared is the same.
void check_live_comparison(const Json& j, uint64_t answers) {
    uint64_t requests = 0, bodies = 0, heads = 0, recorded_latencies = 0;
    for (const Json& e : j["endpoints"].as_array()) {
        INFO("endpoint " << e["name"].as_string());
        requests += e["requests"].as_u64();
        bodies += e["body_compared"].as_u64();
        heads += e["header_compared"].as_u64();
        recorded_latencies += e["latency_recorded_us"]["count"].as_u64();
        CHECK(e["status_mismatch"].as_u64() == 0);
        CHECK(e["body_mismatch"].as_u64() == 0);
        CHECK(e["header_mismatch"].as_u64() == 0);
    }
    CHECK(requests == answers);
    CHECK(recorded_latencies > 0);
    // Bodies and heads compared once the online answer was over (the next request, the close).
    CHECK(bodies == answers);
    CHECK(heads == answers);
}

}  // namespace

TEST_CASE_METHOD(NetnsLab, "live passthrough copies every connection twice and records it",
                 "[e2e][live]") {
    LinkOptions links;
    links.wire_sized_segments = GENERATE(true, false);
    CAPTURE(links.wire_sized_segments);
    LiveLab r = make_live_lab(*this, Deployment::AssistantHost, links);
    start_intercept(*this, r);
    const fs::path archive = path("live.pcap.zst");
    const fs::path report = path("live-report.json");
    Process& live = start_live(*this, r,
                               {"--copies", "2", "--record", archive.string(), "--report", "json",
                                report.string(), "--timeout", "10s"});
    const uint64_t requests = client_load(*this, r, 25);
    // Started as root, it copies as nobody (-Z's default) with no capability.
    check_runs_as_nobody(live.pid());

    const auto online = settled_log(*this, *r.online, requests);
    REQUIRE(online.size() == requests);
    const auto target = settled_log(*this, *r.target, requests * kCopies);
    const std::string out = stop_live(live);
    INFO("tcpreplay2's summary:\n" << out << "\nstderr:\n" << live.stderr_text());
    check_copies(online, target, kCopies, "live, intercept on an assistant host");

    // The report: every connection copied twice, all completed, every first line matching.
    const Json j = report_json(report);
    const uint64_t connections = 25 * 2 + 25 / 5;
    CHECK(j["live"]["connections"].as_u64() == connections);
    CHECK(j["live"]["copied"].as_u64() == connections);
    CHECK(j["live"]["dropped_cap"].as_u64() == 0);
    CHECK(j["live"]["kernel_drops"].as_u64() == 0);
    CHECK(j["sessions"]["planned"].as_u64() == connections * kCopies);
    CHECK(j["sessions"]["completed"].as_u64() == connections * kCopies);
    CHECK(j["sessions"]["timed_out"].as_u64() == 0);
    CHECK(j["sessions"]["reset_by_target"].as_u64() == 0);
    CHECK(j["status_lines"]["mismatch"].as_u64() == 0);
    CHECK(j["status_lines"]["match"].as_u64() == requests * kCopies);
    CHECK(j["stop_reason"].as_string() == "signal");
    CHECK(out.find("failed sessions: 0.00%") != std::string::npos);
    check_live_comparison(j, requests * kCopies);

    // The archive verifies and replays (archive mode) to the same requests, once more.
    REQUIRE(fs::exists(archive));
    CHECK_FALSE(fs::exists(archive.string() + ".partial"));
    check_owned_by_nobody(archive);
    check_owned_by_nobody(report);
    const CommandResult v = run("", {binary("tcprec"), "--verify", archive.string()}, 60s);
    {
        INFO(v.describe());
        CHECK(v.ok());
    }
    const CommandResult replay =
        run("online",
            {binary("tcpreplay2"), "--in", archive.string(), "--target", r.target_ep, "--intercept",
             r.intercept_addr, "--speed", "4x", "--timeout", "10s", "-q"},
            120s);
    INFO(replay.describe());
    REQUIRE(replay.ok());
    const auto after = settled_log(*this, *r.target, requests * (kCopies + 1));
    const std::vector<std::string> replayed(
        after.begin() + static_cast<std::ptrdiff_t>(target.size()), after.end());
    check_copies(online, replayed, 1, "archive replay of the --record archive");
}

TEST_CASE_METHOD(NetnsLab,
                 "live passthrough with --no-compare: intercept merges each answer's segments "
                 "into few reports, every request still copied",
                 "[e2e][live]") {
    LiveLab r = make_live_lab(*this, Deployment::AssistantHost);  // wire-sized segments
    // Not quiet: its last line counts the merged segments.
    Process& icpt = spawn(r.intercept_host,
                          {binary("intercept"), "-i", r.intercept_if, "-F", "tcp and src port 80",
                           "-b", r.intercept_addr},
                          "intercept-merging");
    require_intercept_listening(icpt, r.intercept_addr, kInterceptPort);
    r.intercept = &icpt;
    const fs::path report = path("nocompare.json");
    Process& live = start_live(
        *this, r,
        {"--copies", "2", "--no-compare", "--report", "json", report.string(), "--timeout", "10s"});
    const int rounds = 10;
    const uint64_t requests = client_load(*this, r, rounds);
    const auto online = settled_log(*this, *r.online, requests);
    REQUIRE(online.size() == requests);
    const auto target = settled_log(*this, *r.target, requests * kCopies);
    const std::string out = stop_live(live);
    INFO("tcpreplay2's summary:\n" << out << "\nstderr:\n" << live.stderr_text());
    check_copies(online, target, kCopies, "live --no-compare, merged reports");
    const Json j = report_json(report);
    const uint64_t connections = rounds * 2 + rounds / 5;
    CHECK(j["sessions"]["completed"].as_u64() == connections * kCopies);
    CHECK(j["sessions"]["reset_by_target"].as_u64() == 0);
    CHECK(j["sessions"]["timed_out"].as_u64() == 0);
    CHECK(j["status_lines"]["match"].as_u64() == requests * kCopies);  // the heads still come

    icpt.signal(SIGTERM);
    const auto code = icpt.wait(20s);
    REQUIRE(code.has_value());
    const std::string log = icpt.stderr_text();
    INFO("intercept: " << log);
    const auto at = log.find(" more merged into them)");
    REQUIRE(at != std::string::npos);
    const auto open = log.rfind('(', at);
    REQUIRE(open != std::string::npos);
    const uint64_t merged = std::stoull(log.substr(open + 1, at - open - 1));
    // Each copy of /large (307,200 bytes: 200+ wire-sized segments) alone gives many.
    CHECK(merged >= uint64_t{rounds} * kCopies * 100);
}

TEST_CASE_METHOD(NetnsLab, "live passthrough with intercept on the target (dummy interface)",
                 "[e2e][live]") {
    LiveLab r = make_live_lab(*this, Deployment::SingleHost);
    CAPTURE(r.dummy_kind);
    start_intercept(*this, r);
    // tcpcopy's spelling: -x PORT-TARGET and -s INTERCEPT (the capture interface given too).
    std::vector<std::string> argv{binary("tcpreplay2"),
                                  "-x",
                                  "80-" + r.target_ep,
                                  "-s",
                                  r.intercept_addr,
                                  "-i",
                                  r.capture_if,
                                  "-n",
                                  "2"};
    Process& live = spawn("online", argv, "tcpreplay2-x");
    const bool up = wait_until(
        [&] {
            return !live.running() ||
                   live.stderr_text().find("info: copying ") != std::string::npos;
        },
        10s);
    {
        INFO(live.stderr_text());
        REQUIRE(up);
        REQUIRE(live.running());
    }
    const uint64_t requests = client_load(*this, r, 20);
    const auto online = settled_log(*this, *r.online, requests);
    REQUIRE(online.size() == requests);
    const auto target = settled_log(*this, *r.target, requests * kCopies);
    const std::string out = stop_live(live, SIGTERM);
    INFO("tcpreplay2's summary:\n" << out << "\nstderr:\n" << live.stderr_text());
    check_copies(online, target, kCopies, "live, intercept on the target (" + r.dummy_kind + ")");
    CHECK(out.find("stopped early: signal") != std::string::npos);
}

TEST_CASE_METHOD(NetnsLab,
                 "a keep-alive connection open before the copy began is copied from its next "
                 "request, with a built SYN",
                 "[e2e][live]") {
    LiveLab r = make_live_lab(*this, Deployment::AssistantHost);
    start_intercept(*this, r);
    // One keep-alive connection (bash's /dev/tcp): a request before tcpreplay2 starts, then,
    // once told to go on, three more, then close.
    const fs::path go = path("go");
    const std::string host = r.online_url.substr(7, r.online_url.rfind(':') - 7);
    std::ostringstream script;
    script << "set -e\n"
           << "exec 3<>/dev/tcp/" << host << "/80\n"
           << "req() {\n"
           << "  printf 'GET %s HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' \"$1\" >&3\n"
           << "  len=0\n"
           << "  while IFS= read -r line <&3; do line=${line%$'\\r'}; [ -z \"$line\" ] && break\n"
           << "    case \"$line\" in Content-Length:*) len=${line#*: };; esac; done\n"
           << "  head -c \"$len\" <&3 >/dev/null; echo \"$1 ok\"\n"
           << "}\n"
           << "req /api/before\n"
           << "for i in $(seq 1 200); do [ -e " << go.string() << " ] && break; sleep 0.05; done\n"
           << "[ -e " << go.string() << " ]\n"
           << "req /api/after1; sleep 0.2; req /api/after2; sleep 0.2; req /api/after3\n"
           << "exec 3>&-\n";
    Process& client = spawn("client", {"bash", "-c", script.str()}, "keepalive-client");
    const bool before = wait_until(
        [&] { return access_log_lines(*r.online).size() == 1 || !client.running(); }, 10s);
    REQUIRE(before);
    const fs::path report = path("midsession.json");
    Process& live = start_live(*this, r, {"--report", "json", report.string()});
    // The client stays quiet for more than the request gap (1 s) after the capture began: its
    // next request starts a whole request.
    std::this_thread::sleep_for(1300ms);
    { std::ofstream(go.string()) << "go\n"; }
    const auto code = client.wait(20s);
    {
        INFO("client: " << client.stdout_text() << client.stderr_text());
        REQUIRE(code.has_value());
        REQUIRE(*code == 0);
    }
    const auto online = settled_log(*this, *r.online, 4);
    REQUIRE(online.size() == 4);
    const auto target = settled_log(*this, *r.target, 3);
    const std::string out = stop_live(live);
    INFO("tcpreplay2's summary:\n" << out << "\nstderr:\n" << live.stderr_text());
    const std::vector<std::string> after(online.begin() + 1, online.end());
    check_copies(after, target, 1, "a connection open before the copy began");
    const Json j = report_json(report);
    CHECK(j["live"]["mid_session"].as_u64() == 1);
    CHECK(j["live"]["connections"].as_u64() == 0);  // no SYN was seen
    CHECK(j["sessions"]["completed"].as_u64() == 1);
    CHECK(j["status_lines"]["match"].as_u64() == 3);
}

TEST_CASE_METHOD(NetnsLab, "live passthrough as a daemon: pid file, log file of stats lines",
                 "[e2e][live]") {
    LiveLab r = make_live_lab(*this, Deployment::AssistantHost);
    start_intercept(*this, r);
    const fs::path pidfile = path("tcpreplay2.pid");
    const fs::path logfile = path("tcpreplay2.log");
    const CommandResult start =
        run("online",
            {binary("tcpreplay2"), "-i", r.capture_if, "-p", "80", "--target", r.target_ep,
             "--intercept", r.intercept_addr, "-d", "--pidfile", pidfile.string(), "--logfile",
             logfile.string(), "--stats-interval", "1s"},
            20s);
    {
        INFO(start.describe());
        REQUIRE(start.ok());  // the foreground process returns once the daemon runs
    }
    REQUIRE(fs::exists(pidfile));
    const pid_t pid = static_cast<pid_t>(std::stol(read_text(pidfile)));
    REQUIRE(pid > 1);
    // The daemon is not our child: make sure it dies with the test even if a check fails.
    struct Killer {
        pid_t pid;
        ~Killer() { ::kill(pid, SIGKILL); }
    } killer{pid};
    REQUIRE(::kill(pid, 0) == 0);
    const bool copying = wait_until(
        [&] { return read_text(logfile).find("info: copying ") != std::string::npos; }, 10s);
    {
        INFO("log file:\n" << read_text(logfile));
        REQUIRE(copying);
    }
    const uint64_t requests = client_load(*this, r, 10);
    const auto online = settled_log(*this, *r.online, requests);
    const auto target = settled_log(*this, *r.target, requests);
    std::this_thread::sleep_for(1500ms);  // at least one more stats line
    REQUIRE(::kill(pid, SIGTERM) == 0);
    const bool gone = wait_until([&] { return ::kill(pid, 0) != 0; }, 20s);
    const std::string log = read_text(logfile);
    INFO("log file:\n" << log);
    REQUIRE(gone);
    CHECK_FALSE(fs::exists(pidfile));  // removed at exit
    check_copies(online, target, 1, "live as a daemon");
    // Not a terminal: periodic stats lines, then the summary.
    size_t stats_lines = 0;
    for (const auto& line : split_lines(log)) {
        stats_lines += line.find("info: live ") != std::string::npos &&
                               line.find(" | connections ") != std::string::npos
                           ? 1
                           : 0;
    }
    CHECK(stats_lines >= 2);
    CHECK(log.find("failed sessions: 0.00%") != std::string::npos);
    CHECK(log.find("live: " + std::to_string(10 * 2 + 10 / 5) + " new connections") !=
          std::string::npos);
}

TEST_CASE_METHOD(NetnsLab, "live --sample 50% copies whole connections and never single requests",
                 "[e2e][live]") {
    constexpr uint64_t kConnections = 40;
    constexpr uint64_t kPerConnection = 3;
    LiveLab r = make_live_lab(*this, Deployment::AssistantHost);
    start_intercept(*this, r);
    const fs::path report = path("sample-report.json");
    Process& live = start_live(*this, r,
                               {"--sample", "50%", "--copies", "2", "--report", "json",
                                report.string(), "--timeout", "10s"});
    const auto requests = keepalive_load(*this, r, kConnections, kPerConnection);
    const uint64_t total = kConnections * kPerConnection;

    const auto online = settled_log(*this, *r.online, total);
    REQUIRE(online.size() == total);
    check_online_connections(online, requests);
    // How many connections were sampled is not known in advance: wait for the copies to stop
    // arriving, then stop (which waits for every copy to end) and read the final log.
    settled_log(*this, *r.target, 1);
    const std::string out = stop_live(live);
    INFO("tcpreplay2's summary:\n" << out << "\nstderr:\n" << live.stderr_text());
    const auto target = access_log_lines(*r.target);
    const auto tg = request_counts(target);

    // Per session, never per packet: a connection's requests are all copied (each twice) or
    // none is.
    uint64_t copied = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
        size_t present = 0;
        std::string counts;
        for (const auto& req : requests[i]) {
            const auto it = tg.find(req);
            const uint64_t n = it == tg.end() ? 0 : it->second;
            present += n > 0 ? 1 : 0;
            counts += " " + req + " x" + std::to_string(n);
        }
        INFO("connection " << i + 1 << " on the target:" << counts);
        CHECK((present == 0 || present == requests[i].size()));
        if (present == requests[i].size()) {
            ++copied;
            for (const auto& req : requests[i]) {
                CHECK(tg.at(req) == kCopies);
            }
        }
    }
    // Nothing else reached the target.
    CHECK(target.size() == copied * kPerConnection * kCopies);
    WARN("--sample 50%: " << copied << " of " << kConnections << " connections copied");
    // The choice hashes each connection's tuple: with 40 connections (kernel-chosen client
    // ports) fewer than 8 or more than 32 sampled has a probability of about 4e-5.
    CHECK(copied >= kConnections / 5);
    CHECK(copied <= kConnections * 4 / 5);

    // The report counts the same connections as sampled and as left out.
    const Json j = report_json(report);
    CHECK(j["live"]["connections"].as_u64() == kConnections);
    CHECK(j["live"]["copied"].as_u64() == copied);
    CHECK(j["live"]["not_selected"].as_u64() == kConnections - copied);
    CHECK(j["live"]["dropped_cap"].as_u64() == 0);
    CHECK(j["live"]["dropped_buffer"].as_u64() == 0);
    CHECK(j["input_stats"]["not_selected"].as_u64() == kConnections - copied);
    CHECK(j["sessions"]["planned"].as_u64() == copied * kCopies);
    CHECK(j["sessions"]["completed"].as_u64() == copied * kCopies);
    CHECK(j["requests"]["sent"].as_u64() == copied * kPerConnection * kCopies);
    CHECK(j["status_lines"]["match"].as_u64() == copied * kPerConnection * kCopies);
    CHECK(j["status_lines"]["mismatch"].as_u64() == 0);
    CHECK(out.find("live: " + std::to_string(kConnections) + " new connections, " +
                   std::to_string(copied) +
                   " copied; not copied: " + std::to_string(kConnections - copied) +
                   " by --sample/--sessions") != std::string::npos);
}

TEST_CASE_METHOD(NetnsLab, "live passthrough over --transport socket without intercept",
                 "[e2e][live]") {
    constexpr uint64_t kConnections = 20;
    constexpr uint64_t kPerConnection = 2;
    // The assistant host is there, but no intercept runs: the copies are ordinary connections
    // from the online host's own address, so the target answers it directly.
    LiveLab r = make_live_lab(*this, Deployment::AssistantHost);
    const fs::path report = path("socket-report.json");
    const fs::path diff = path("socket-diff.txt");
    Process& live =
        spawn_live(*this, {binary("tcpreplay2"), "-i", r.capture_if, "-p", "80", "--target",
                           r.target_ep, "--transport", "socket", "--copies", "2", "--report",
                           "json", report.string(), "--timeout", "10s", "--diff", diff.string()});
    CHECK(live.stderr_text().find("(socket transport)") != std::string::npos);
    const auto requests = keepalive_load(*this, r, kConnections, kPerConnection);
    const uint64_t total = kConnections * kPerConnection;

    const auto online = settled_log(*this, *r.online, total);
    REQUIRE(online.size() == total);
    check_online_connections(online, requests);
    const auto target = settled_log(*this, *r.target, total * kCopies);
    const std::string out = stop_live(live);
    INFO("tcpreplay2's summary:\n" << out << "\nstderr:\n" << live.stderr_text());
    check_copies(online, target, kCopies, "live over --transport socket");
    CHECK(access_log_lines(*r.target).size() == target.size());  // nothing arrived later

    const Json j = report_json(report);
    CHECK(j["transport"].as_string().find("socket") == 0);
    CHECK(j["intercept"].as_string().empty());
    CHECK(j["live"]["connections"].as_u64() == kConnections);
    CHECK(j["live"]["copied"].as_u64() == kConnections);
    CHECK(j["sessions"]["planned"].as_u64() == kConnections * kCopies);
    CHECK(j["sessions"]["started"].as_u64() == kConnections * kCopies);
    CHECK(j["sessions"]["completed"].as_u64() == kConnections * kCopies);
    CHECK(j["sessions"]["reset_by_target"].as_u64() == 0);
    CHECK(j["sessions"]["timed_out"].as_u64() == 0);
    CHECK(j["socket"]["connection_errors"].as_u64() == 0);
    CHECK(j["requests"]["sent"].as_u64() == total * kCopies);
    CHECK(j["status_lines"]["match"].as_u64() == total * kCopies);
    CHECK(j["status_lines"]["mismatch"].as_u64() == 0);
    CHECK(out.find("failed sessions: 0.00%") != std::string::npos);
    check_live_comparison(j, total * kCopies);
    // --diff is published at the end and named (no answer differed: its header and count).
    CHECK(j["socket"]["diff_file"].as_string() == diff.string());
    REQUIRE(fs::exists(diff));
    const std::string listed = read_text(diff);
    CHECK(listed.rfind("# tcpreplay2 --diff: live sessions of ", 0) == 0);
    CHECK(listed.find("\n# 0 responses differ from the recording\n") != std::string::npos);
    CHECK(std::count(listed.begin(), listed.end(), '\n') == 2);
}

TEST_CASE_METHOD(NetnsLab,
                 "live --max-lag: copies far behind their connection end after the request "
                 "they are on, the client's backlog shed and counted",
                 "[e2e][live]") {
    constexpr uint64_t kPerConnection = 20;
    LiveLab r = make_live_lab(*this, Deployment::AssistantHost);
    start_intercept(*this, r);
    const fs::path report = path("lag-report.json");
    Process& live = start_live(*this, r,
                               {"--copies", std::to_string(kCopies), "--max-lag", "1s", "--report",
                                "json", report.string(), "--timeout", "30s"});
    // The target stops answering (its kernel still accepts and acknowledges): the copies send
    // the first request and wait, while the online client sends all its requests at once.
    REQUIRE(r.target->process != nullptr);
    r.target->process->signal_group(SIGSTOP);
    const auto requests = keepalive_load(*this, r, 1, kPerConnection);
    const auto online = settled_log(*this, *r.online, kPerConnection);
    REQUIRE(online.size() == kPerConnection);
    // More than --max-lag later (the copier looks once a second), the target answers again.
    std::this_thread::sleep_for(3s);
    r.target->process->signal_group(SIGCONT);
    const auto target = settled_log(*this, *r.target, kCopies);
    const std::string out = stop_live(live);
    INFO("tcpreplay2's summary:\n" << out << "\nstderr:\n" << live.stderr_text());
    // Each copy sent the request it was on, and nothing after it.
    REQUIRE(target.size() == kCopies);
    for (const auto& line : target) {
        CHECK(request_of(line) == requests.at(0).at(0));
    }
    const Json j = report_json(report);
    CHECK(j["live"]["cut_behind"].as_u64() == 1);
    CHECK(j["live"]["peak_lag_ms"].as_u64() >= 1000);
    CHECK(j["sessions"]["completed"].as_u64() == kCopies);  // closed with a FIN, not timed out
    CHECK(j["sessions"]["timed_out"].as_u64() == 0);
    CHECK(j["sessions"]["reset_by_target"].as_u64() == 0);
    CHECK(j["requests"]["sent"].as_u64() == kCopies);
    CHECK(j["requests"]["not_sent"].as_u64() == kCopies * (kPerConnection - 1));
    CHECK(out.find("1 given no more requests (over --max-lag behind)") != std::string::npos);
}

}  // namespace tcpr::test
