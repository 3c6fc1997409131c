// Replay fidelity on captures that look like production ones (tests/support/capture_corpus.h):
// made by real clients (curl, ab, wrk, redis-benchmark, bash and nc) and real servers (nginx,
// redis-server) in namespaces this test creates, recorded live by tcprec or by tcpdump/editcap
// and imported, with the properties production captures have: keep-alive connections with
// large GETs and POSTs, connections closed without a request, empty and idle connections,
// captures started and stopped mid-connection, the Linux cooked link type, VLAN tags, pcapng,
// IPv6, offloaded 30 kB+ segments with unfilled checksums, a protocol other than HTTP.
//
// Ground truth (how many whole requests each capture holds) never comes from tcpreplay2: for
// HTTP it is tshark's HTTP dissector on the capture (a request counts when the capture holds
// its first and its last bytes; one cut by the capture's start or end is not a recorded
// request), checked against the online nginx's access log (equal, per client endpoint and in
// order, for captures of whole connections; every captured request found there, in order, for
// captures started and stopped mid-connection). For Redis it is the online redis' INFO
// commandstats of the recorded run.
//
// Every capture is replayed by tcpreplay2 --copies 3 into a fresh target (nginx or redis, and
// intercept on an assistant host, per capture, not per run) eight times back to back, without
// a pause: raw transport (forged packets + intercept) at 1x, 1x, max, max, then socket transport
// at 1x, 1x, max, max. The back-to-back runs are the point: the target still holds the
// previous run's tuples in TIME_WAIT. Each run must end by itself within the recorded span
// (scaled) + 15 s (it is killed and fails otherwise; --timeout 5s bounds a stalled session),
// exit 0, and the target must have served exactly 3x the recorded requests during that run
// (new access-log lines; Redis: the commandstats' growth), each recorded connection's requests
// in order on one connection; the report's counters must agree (sessions planned, started and
// completed, none timed out or reset, no request left unsent, one response seen and one
// matching status line per recorded answered request).
//
// Live passthrough (docs/replay.md, "Live passthrough") is checked with connections already
// open when the copy starts, against the target's log with the expectation the docs define.
//
// With TCPR_KEEP_CORPUS=/some/dir every capture (and a text file with its ground truth) is
// copied there. Root only (namespaces); a test that cannot run fails loudly.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <signal.h>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/capture_corpus.h"
#include "support/e2e_helpers.h"
#include "support/json_lite.h"
#include "support/netns_lab.h"
#include "support/replay_lab.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kCopies = 3;
// A session waiting on the target this long without progress is reset and counted timed out.
const std::string kTimeout = "5s";
// A run may take its recorded span (at 1x) plus this: a stalled session ends after --timeout
// (5 s), a close waits at most 5 s for the target's FIN, and some slack for the machine.
constexpr milliseconds kMargin = 15s;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string fixed1(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", v);
    return b;
}

enum class Transport { Raw, Socket };

// The target of one capture's replays: fresh per capture, shared by its eight runs.
struct Target {
    ReplayLab lab;
    std::vector<std::string> pool_args;  // raw replay of an IPv6 capture: --client-pool
};

Target make_target(NetnsLab& lab, const Capture& c) {
    Target t;
    // IPv6 clients cannot be forged toward an IPv4 target: raw copies get addresses from a
    // pool of the target's version, routed to intercept like recorded clients.
    const std::vector<std::string> clients =
        c.ipv6 ? std::vector<std::string>{} : c.client_addresses;
    t.lab = make_replay_lab(lab, Deployment::AssistantHost, clients, c.server_port, LinkOptions(),
                            c.http());
    if (!c.http()) {
        start_redis(lab, "target", t.lab.target_addr, "redis-target");
        REQUIRE(redis_command_calls(lab, "target", t.lab.target_addr).empty());
    }
    if (c.ipv6) {
        const std::string pool = lab.fresh_subnet() + ".0/24";
        route_clients_to_intercept(lab, t.lab, pool);
        t.pool_args = {"--client-pool", pool};
    }
    start_intercept(lab, t.lab);
    return t;
}

// The target's access log once it has at least `expected` lines after `before` and was quiet
// for 100 ms (or after 2 s).
std::vector<std::string> settled_log(NetnsLab& lab, const Nginx& nginx, size_t before,
                                     size_t expected) {
    return lab.settled_access_log(nginx, before + expected, 5, 2s);
}

// Connections open on the target's port (not LISTEN, not TIME-WAIT): "local peer" -> state.
std::map<std::string, std::string> open_pairs(NetnsLab& lab, uint16_t port) {
    std::map<std::string, std::string> pairs;
    for (const auto& line : open_connections(lab, "target", port)) {
        const auto w = split_words(line);
        pairs[w[3] + " " + w[4]] = w[0];
    }
    return pairs;
}

std::map<std::string, uint64_t> times(std::map<std::string, uint64_t> m, uint64_t k) {
    for (auto& [key, n] : m) {
        n *= k;
    }
    return m;
}

// "a b c" of what differs between two count maps (at most 8 entries).
std::string count_diff(const std::map<std::string, uint64_t>& want,
                       const std::map<std::string, uint64_t>& got) {
    std::set<std::string> keys;
    for (const auto& [k, v] : want) {
        keys.insert(k);
    }
    for (const auto& [k, v] : got) {
        keys.insert(k);
    }
    std::ostringstream o;
    int shown = 0;
    for (const auto& k : keys) {
        const uint64_t w = want.count(k) ? want.at(k) : 0;
        const uint64_t g = got.count(k) ? got.at(k) : 0;
        if (w != g && shown++ < 8) {
            o << "  " << k << ": expected " << w << ", served " << g << "\n";
        }
    }
    return o.str();
}

uint64_t json_u64(const std::optional<Json>& j, const std::string& group, const std::string& key) {
    if (!j || !j->contains(group) || !(*j)[group].contains(key)) {
        return UINT64_MAX;
    }
    return (*j)[group][key].as_u64();
}

// One run: tcpreplay2 --copies 3 on the capture, then every check against the target's own
// log (or statistics). Returns a one-line summary for the test's report.
std::string run_and_check(NetnsLab& lab, const Capture& c, const Target& t, Transport transport,
                          const std::string& speed, int round) {
    const CaptureFacts& f = c.facts;
    const std::string title = c.name + " " + (transport == Transport::Raw ? "raw" : "socket") +
                              " " + speed + " #" + std::to_string(round);
    static int runs = 0;
    const fs::path report = lab.path("fidelity-report-" + std::to_string(runs++) + ".json");
    std::vector<std::string> argv{binary("tcpreplay2"),
                                  "--in",
                                  c.file.string(),
                                  "--target",
                                  t.lab.target,
                                  "--copies",
                                  std::to_string(kCopies),
                                  "--speed",
                                  speed,
                                  "--timeout",
                                  kTimeout,
                                  "--report",
                                  "json",
                                  report.string(),
                                  "-q"};
    if (transport == Transport::Raw) {
        argv.insert(argv.end(), {"--intercept", t.lab.intercept_addr});
        argv.insert(argv.end(), t.pool_args.begin(), t.pool_args.end());
    } else {
        argv.insert(argv.end(), {"--transport", "socket"});
    }
    const milliseconds deadline =
        (speed == "max" ? 0ms : milliseconds(static_cast<int64_t>(std::ceil(f.span_s * 1000)))) +
        kMargin;

    const size_t before = c.http() ? lab.access_log_lines(*t.lab.nginx).size() : 0;
    const auto commands_before = c.http() ? std::map<std::string, uint64_t>{}
                                          : redis_command_calls(lab, "target", t.lab.target_addr);
    const auto open_before = open_pairs(lab, c.server_port);

    const ReplayRun run = run_replayer(lab, "replayer", argv, report, deadline);

    // What the target did during this run.
    uint64_t served = 0, expected = 0;
    std::map<std::string, uint64_t> served_counts, expected_counts;
    std::map<std::vector<std::string>, size_t> served_sequences, expected_sequences;
    uint64_t served_connections = 0;
    if (c.http()) {
        const auto log = settled_log(lab, *t.lab.nginx, before, kCopies * f.requests.size());
        const std::vector<std::string> fresh(log.begin() + static_cast<std::ptrdiff_t>(before),
                                             log.end());
        served = fresh.size();
        expected = kCopies * f.requests.size();
        for (const auto& line : fresh) {
            ++served_counts[parse_log_line(line).request];
        }
        expected_counts = times(f.request_counts(), kCopies);
        const Conversations conv = connections(fresh);
        served_connections = conv.size();
        served_sequences = sequence_counts(conv);
        for (const auto& [seq, n] : f.request_sequences()) {
            expected_sequences[seq] = n * kCopies;
        }
    } else {
        const auto after = redis_command_calls(lab, "target", t.lab.target_addr);
        for (const auto& [command, calls] : after) {
            const uint64_t was = commands_before.count(command) ? commands_before.at(command) : 0;
            if (calls > was) {
                served_counts[command] = calls - was;
                served += calls - was;
            }
        }
        expected_counts = times(c.commands, kCopies);
        expected = kCopies * c.total_commands();
    }
    std::set<std::string> left_open;
    if (run.exit_code) {
        // Connections this run left open on the target (its closes' last ACKs get 1 s).
        wait_until(
            [&] {
                left_open.clear();
                for (const auto& [pair, state] : open_pairs(lab, c.server_port)) {
                    if (!open_before.count(pair)) {
                        left_open.insert(pair + " " + state);
                    }
                }
                return left_open.empty();
            },
            1s);
    }

    const std::optional<Json>& j = run.json;
    const uint64_t sessions = kCopies * f.sessions();
    const uint64_t answered = c.http() ? kCopies * f.answered() : UINT64_MAX;
    std::ostringstream line;
    line << title << ": "
         << (run.exit_code ? "exit " + std::to_string(*run.exit_code) : std::string("KILLED"))
         << " after " << fixed1(static_cast<double>(run.elapsed.count()) / 1000) << " s (deadline "
         << fixed1(static_cast<double>(deadline.count()) / 1000) << " s); served " << served
         << " of " << expected << (c.http() ? " requests" : " commands");
    if (j) {
        line << "; sessions " << json_u64(j, "sessions", "completed") << " completed, "
             << json_u64(j, "sessions", "timed_out") << " timed out, "
             << json_u64(j, "sessions", "reset_by_target") << " reset of " << sessions
             << " expected (planned " << json_u64(j, "sessions", "planned") << ", started "
             << json_u64(j, "sessions", "started") << "); responses "
             << json_u64(j, "responses", "seen") << ", status lines "
             << json_u64(j, "status_lines", "match");
        if (c.http()) {
            line << " of " << answered;
        }
        line << "; requests sent " << json_u64(j, "requests", "sent") << ", not sent "
             << json_u64(j, "requests", "not_sent");
    } else {
        line << "; no report";
    }
    if (!left_open.empty()) {
        line << "; " << left_open.size() << " connections left open";
    }

    INFO(title << " (" << c.description << ")\n" << line.str() << "\n" << run.describe(6000));
    // It ended by itself within the deadline.
    {
        INFO("tcpreplay2 did not end within " << deadline.count() << " ms and was killed");
        CHECK(run.exit_code.has_value());
    }
    CHECK(run.exit_code == std::optional<int>(0));
    // The target served exactly 3x the recorded requests, each recorded connection's requests
    // in order on one connection.
    {
        INFO("served vs expected per request:\n" << count_diff(expected_counts, served_counts));
        CHECK(served == expected);
        CHECK(served_counts == expected_counts);
    }
    if (c.http()) {
        CHECK(served_connections == kCopies * f.connections_with_requests());
        CHECK(served_sequences == expected_sequences);
    }
    {
        std::string listing;
        for (const auto& p : left_open) {
            listing += p + "\n";
        }
        INFO("connections this run left open on the target:\n" << listing);
        CHECK(left_open.empty());
    }
    // The report agrees.
    {
        INFO("no --report file: tcpreplay2 did not finish");
        CHECK(j.has_value());
    }
    if (!j) {
        return line.str();  // the next run goes on against the same target
    }
    CHECK((*j)["copies"].as_u64() == kCopies);
    CHECK((*j)["input_stats"]["sessions"].as_u64() == f.sessions());
    CHECK((*j)["sessions"]["planned"].as_u64() == sessions);
    CHECK((*j)["sessions"]["started"].as_u64() == sessions);
    CHECK((*j)["sessions"]["completed"].as_u64() == sessions);
    CHECK((*j)["sessions"]["timed_out"].as_u64() == 0);
    CHECK((*j)["sessions"]["reset_by_target"].as_u64() == 0);
    CHECK((*j)["sessions"]["aborted"].as_u64() == 0);
    CHECK((*j)["requests"]["not_sent"].as_u64() == 0);
    CHECK((*j)["requests"]["sent"].as_u64() == kCopies * (*j)["input_stats"]["requests"].as_u64());
    if (c.http()) {
        // One response seen and one matching status line per recorded answer.
        CHECK((*j)["responses"]["seen"].as_u64() == answered);
        CHECK((*j)["status_lines"]["match"].as_u64() == answered);
        CHECK((*j)["status_lines"]["mismatch"].as_u64() == 0);
        // The comparison per endpoint: every answer counted once under its method and path
        // (query dropped), none with a status mismatch, latencies measured on both sides.
        // Expected names: the captured requests' method and path (tshark), query dropped, path
        // segments of digits as {n}; an HTTP body after "100 Continue" continues its request.
        std::set<std::string> expected_names;
        for (const auto& [request, n] : f.request_counts()) {
            std::string name;
            std::istringstream parts(request.substr(0, request.find('?')));
            for (std::string seg; std::getline(parts, seg, '/');) {
                const bool digits =
                    !seg.empty() && seg.find_first_not_of("0123456789") == std::string::npos;
                name += (name.empty() ? "" : "/") + (digits ? std::string("{n}") : seg);
            }
            expected_names.insert(name +
                                  (request.substr(0, request.find('?')).back() == '/' ? "/" : ""));
        }
        uint64_t by_endpoint = 0, recorded_latencies = 0, replayed_latencies = 0, bodies = 0;
        for (const Json& e : (*j)["endpoints"].as_array()) {
            INFO("endpoint " << e["name"].as_string());
            by_endpoint += e["requests"].as_u64();
            bodies += e["body_compared"].as_u64();
            // The target serves the recorded site: no body differs.
            CHECK(e["body_mismatch"].as_u64() == 0);
            recorded_latencies += e["latency_recorded_us"]["count"].as_u64();
            CHECK(e["status_mismatch"].as_u64() == 0);
            // (An answer that began before its request's last byte, e.g. nginx refusing a large
            // POST before its body is in, has no latency on either side.)
            // (Raw transport: our sender paces a large POST body by the congestion window, and
            // nginx, which answers /upload without reading the body, may answer before the
            // body's last byte left: no latency then, as documented. The socket transport
            // hands the whole body to the kernel at once.)
            if (e["latency_recorded_us"]["count"].as_u64() > 0 && transport == Transport::Socket) {
                CHECK(e["latency_replayed_us"]["count"].as_u64() > 0);
            }
            replayed_latencies += e["latency_replayed_us"]["count"].as_u64();
            CHECK(e["latency_replayed_us"]["p99"].as_u64() >=
                  e["latency_replayed_us"]["p50"].as_u64());
            const std::string name = e["name"].as_string();
            CHECK(expected_names.count(name.substr(0, name.find(" (continued)"))) == 1);
        }
        CHECK(by_endpoint == (*j)["responses"]["seen"].as_u64());
        CHECK(recorded_latencies > 0);
        CHECK(replayed_latencies > 0);
        // Bodies are compared over both transports (raw: from the payloads intercept forwards).
        CHECK(bodies > 0);
    } else {
        // Every request answered (redis-benchmark pipelines its CONFIG GET pair: one request
        // of the recording holds two commands, so compare with the requests sent; status lines
        // differ by nature: INCR counts, GET values).
        CHECK((*j)["responses"]["seen"].as_u64() == (*j)["requests"]["sent"].as_u64());
    }
    if (transport == Transport::Raw) {
        CHECK((*j)["packets"]["refused"].as_u64() == 0);
        CHECK((*j)["intercept_link"]["disconnects"].as_u64() == 0);
    } else {
        CHECK((*j)["socket"]["connection_errors"].as_u64() == 0);
    }
    return line.str();
}

// The eight runs of a capture against one fresh target; WARNs a summary line per run and the
// time taken.
void replay_all_ways(NetnsLab& lab, const Capture& c, Clock::time_point test_start) {
    const auto captured = seconds_since(test_start);
    const Target t = make_target(lab, c);
    const auto replay_start = Clock::now();
    std::string summary;
    for (const Transport transport : {Transport::Raw, Transport::Socket}) {
        for (const std::string speed : {"1x", "max"}) {
            for (int round = 1; round <= 2; ++round) {
                summary += "  " + run_and_check(lab, c, t, transport, speed, round) + "\n";
            }
        }
    }
    std::ostringstream o;
    o << "fidelity " << c.name << ": " << c.facts.requests.size() << " whole requests ("
      << c.facts.answered() << " answered) on " << c.facts.connections.size() << " connections, "
      << c.facts.sessions() << " sessions, recorded span " << fixed1(c.facts.span_s)
      << " s; capture made in " << fixed1(captured) << " s, 8 replays in "
      << fixed1(seconds_since(replay_start)) << " s, test " << fixed1(seconds_since(test_start))
      << " s\n"
      << summary;
    WARN(o.str());
}

// ---- live passthrough ------------------------------------------------------------------------

// A keep-alive client on one connection (bash /dev/tcp): request `before`, say "ready", wait for
// `go` to exist, then send `after` (pausing `pause` between them; each after reading the
// previous answer), then close. With no `after`, it closes as soon as `go` exists.
std::string keepalive_client(const std::string& addr, const std::string& before, const fs::path& go,
                             const std::vector<std::string>& after, const std::string& pause) {
    std::ostringstream s;
    s << "set -e\n"
      << "exec 3<>/dev/tcp/" << addr << "/80\n"
      << "req() {\n"
      << "  printf 'GET %s HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' \"$1\" >&3\n"
      << "  len=0\n"
      << "  while IFS= read -r line <&3; do line=${line%$'\\r'}; [ -z \"$line\" ] && break\n"
      << "    case \"$line\" in Content-Length:*) len=${line#*: };; esac; done\n"
      << "  head -c \"$len\" <&3 >/dev/null; echo \"$1 ok\"\n"
      << "}\n"
      << "req " << before << "\necho ready\n"
      << "for i in $(seq 1 400); do [ -e " << go.string() << " ] && break; sleep 0.02; done\n"
      << "[ -e " << go.string() << " ]\n";
    for (size_t i = 0; i < after.size(); ++i) {
        s << (i > 0 && !pause.empty() ? "sleep " + pause + "; " : "") << "req " << after[i] << "\n";
    }
    s << "exec 3>&-\n";
    return s.str();
}

// The request as the client above writes it: its length in bytes.
size_t keepalive_request_bytes(const std::string& path) {
    return std::string("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").size();
}

}  // namespace

TEST_CASE_METHOD(NetnsLab, "fidelity: keep-alive curl with large GETs and POSTs recorded live",
                 "[e2e][fidelity]") {
    const auto start = Clock::now();
    const CaptureLab cl = make_capture_lab(*this);
    const Capture c = capture_curl_keepalive(*this, cl, "curl-keepalive", false);
    replay_all_ways(*this, c, start);
}

TEST_CASE_METHOD(NetnsLab,
                 "fidelity: ab with connections closed without a request plus empty connections "
                 "and one idle past the capture's end",
                 "[e2e][fidelity]") {
    const auto start = Clock::now();
    const CaptureLab cl = make_capture_lab(*this);
    const Capture c = capture_ab_empty_idle(*this, cl);
    replay_all_ways(*this, c, start);
}

TEST_CASE_METHOD(
    NetnsLab, "fidelity: wrk captured mid-connection (no SYN or FIN and starting inside answers)",
    "[e2e][fidelity]") {
    const auto start = Clock::now();
    const CaptureLab cl = make_capture_lab(*this);
    const Capture c = capture_wrk_midstream(*this, cl);
    replay_all_ways(*this, c, start);
}

TEST_CASE_METHOD(NetnsLab, "fidelity: tcpdump -i any (Linux cooked) imported with tcprec -r",
                 "[e2e][fidelity]") {
    const auto start = Clock::now();
    const CaptureLab cl = make_capture_lab(*this);
    const Capture c = capture_cooked_any(*this, cl);
    replay_all_ways(*this, c, start);
}

TEST_CASE_METHOD(NetnsLab, "fidelity: VLAN-tagged frames in a pcapng file given to --in",
                 "[e2e][fidelity]") {
    const auto start = Clock::now();
    const CaptureLab cl = make_vlan_capture_lab(*this, 100);
    CAPTURE(cl.vlan_kind);
    const Capture c = capture_vlan_pcapng(*this, cl);
    replay_all_ways(*this, c, start);
}

TEST_CASE_METHOD(NetnsLab, "fidelity: IPv6 capture replayed onto an IPv4 target",
                 "[e2e][fidelity]") {
    const auto start = Clock::now();
    const CaptureLab cl = make_ipv6_capture_lab(*this);
    const Capture c = capture_ipv6(*this, cl);
    replay_all_ways(*this, c, start);
}

TEST_CASE_METHOD(NetnsLab,
                 "fidelity: offloaded capture (30 kB+ segments with unfilled checksums) of large "
                 "GETs and POSTs",
                 "[e2e][fidelity]") {
    const auto start = Clock::now();
    LinkOptions offload;
    offload.wire_sized_segments = false;
    const CaptureLab cl = make_capture_lab(*this, offload);
    const Capture c = capture_curl_keepalive(*this, cl, "curl-offload", true);
    replay_all_ways(*this, c, start);
}

TEST_CASE_METHOD(NetnsLab,
                 "fidelity: redis-benchmark replayed x3 executes every recorded command x3",
                 "[e2e][fidelity]") {
    const auto start = Clock::now();
    const CaptureLab cl = make_capture_lab(*this, LinkOptions(), false);
    const Capture c = capture_redis(*this, cl);
    replay_all_ways(*this, c, start);
}

// Live passthrough started while keep-alive connections are open (docs/replay.md, "Live
// passthrough" and "Connections captured without their handshake"): a connection already open
// is copied with a built SYN from its first request boundary, i.e. a client segment sent after
// reading an answer the capture saw, or after a pause of --request-gap (1 s) since the capture
// began or since the connection's previous bytes, or (unless --no-request-start-guess) one
// whose bytes begin like an HTTP request line; the bytes before are skipped and counted.
// Connections opened after the copy started are copied whole. Three copiers copy the same
// client traffic at once, each to its own nginx: raw (through intercept on an assistant host)
// and socket with the default rule, and socket with --no-request-start-guess (the strict rule).
//
//   P (3 connections): a request before the copy starts; 2 s after it started, 4 requests
//     (0.1 s apart): the first follows a pause of more than 1 s since the capture began, so
//     all 4 are copied by every copier.
//   B (3 connections): a request before; as soon as the copiers started (within 0.7 s: well
//     within the request gap), 4 requests back to back. The first follows no answer the
//     capture saw and no pause: the default rule copies it (a GET request line), the strict
//     rule skips it (its bytes counted as skipped); the next 3 follow answers the capture saw
//     and are copied by every copier.
//   C (1 connection): a request before, then it closes without another: never copied.
//   N (2 new connections after the copy started, SYN seen): curl, 3 requests each: copied.
// Expected per copier: 3 copies x 30 requests (default) or 3 x 27 (strict), exactly these.
TEST_CASE_METHOD(NetnsLab,
                 "fidelity: live passthrough started while keep-alive connections are open",
                 "[e2e][fidelity]") {
    const auto start = Clock::now();
    require_tool("curl", "as the HTTP client (package curl)");
    add_host("client");
    add_host("online");
    add_host("target");
    add_host("socktarget");
    add_host("stricttarget");
    add_host("assistant");
    const Link& co = link("client", "online");
    const Link& ot = link("online", "target");
    const Link& osk = link("online", "socktarget");
    const Link& ost = link("online", "stricttarget");
    const Link& ta = link("target", "assistant");
    const Link& oa = link("online", "assistant");
    for (const std::string host : {"online", "target"}) {
        set_sysctl(host, "net.ipv4.conf.all.rp_filter", "0");
        set_sysctl(host, "net.ipv4.conf.default.rp_filter", "0");
    }
    set_sysctl("target", "net.ipv4.conf." + ot.if_b + ".rp_filter", "0");
    set_sysctl("target", "net.ipv4.conf." + ta.if_a + ".rp_filter", "0");
    set_sysctl("assistant", "net.ipv4.ip_forward", "0");  // responses die here
    add_route("target", co.subnet, ta.addr_b);
    const Nginx& online = start_nginx("online", co.addr_b, 80);
    const Nginx& raw_target = start_nginx("target", ot.addr_b, 80);
    const Nginx& sock_target = start_nginx("socktarget", osk.addr_b, 80);
    const Nginx& strict_target = start_nginx("stricttarget", ost.addr_b, 80);
    Process& intercept = spawn(
        "assistant",
        {binary("intercept"), "-i", ta.if_b, "-F", "tcp and src port 80", "-b", oa.addr_b, "-q"},
        "intercept");
    require_intercept_listening(intercept, oa.addr_b, kInterceptPort);

    // The clients already open, each with one request answered before the copy starts.
    const fs::path go_p = path("go-p");
    const fs::path go_b = path("go-b");
    std::vector<Process*> clients;
    std::vector<std::string> sent;     // every request sent after the copy started
    std::vector<std::string> guessed;  // of which at no boundary but a request line's start
    for (const char group : {'p', 'b'}) {
        for (int i = 1; i <= 3; ++i) {
            const std::string base = "/api/live/" + std::string(1, group) + std::to_string(i);
            std::vector<std::string> after;
            for (int k = 1; k <= 4; ++k) {
                after.push_back(base + "/" + std::to_string(k));
            }
            sent.insert(sent.end(), after.begin(), after.end());
            if (group == 'b') {
                guessed.push_back(after.front());
            }
            clients.push_back(
                &spawn("client",
                       {"bash", "-c",
                        keepalive_client(co.addr_b, base + "/0", group == 'p' ? go_p : go_b, after,
                                         group == 'p' ? "0.1" : "")},
                       std::string(1, group) + std::to_string(i)));
        }
    }
    clients.push_back(
        &spawn("client",
               {"bash", "-c", keepalive_client(co.addr_b, "/api/live/c1/0", go_b, {}, "")}, "c1"));
    {
        const bool ready = wait_until(
            [&] {
                return std::all_of(clients.begin(), clients.end(), [](Process* p) {
                    return p->stdout_text().find("ready") != std::string::npos || !p->running();
                });
            },
            10s);
        REQUIRE(ready);
        REQUIRE(access_log_lines(online).size() == 7);
    }

    // The copiers, started together; the raw one also records what it captured (corpus).
    struct Copier {
        std::string name;
        const Nginx* target;
        fs::path report;
        bool strict;
        Process* process = nullptr;
    };
    std::vector<Copier> copiers{{"raw", &raw_target, path("live-raw.json"), false},
                                {"socket", &sock_target, path("live-socket.json"), false},
                                {"socket strict", &strict_target, path("live-strict.json"), true}};
    const fs::path recorded = path("live-passthrough.pcap.zst");
    const auto copy_start = Clock::now();
    for (Copier& k : copiers) {
        std::vector<std::string> argv{binary("tcpreplay2"),
                                      "-i",
                                      co.if_b,
                                      "-p",
                                      "80",
                                      "--copies",
                                      "3",
                                      "--timeout",
                                      kTimeout,
                                      "--report",
                                      "json",
                                      k.report.string()};
        if (k.name == "raw") {
            argv.insert(argv.end(), {"--target", ot.addr_b + ":80", "--intercept", oa.addr_b,
                                     "--record", recorded.string()});
        } else {
            const std::string t = (k.strict ? ost.addr_b : osk.addr_b) + ":80";
            argv.insert(argv.end(), {"--target", t, "--transport", "socket"});
        }
        if (k.strict) {
            argv.push_back("--no-request-start-guess");
        }
        k.process = &spawn("online", argv, "live-" + std::to_string(&k - copiers.data()));
    }
    for (Copier& k : copiers) {
        Process& p = *k.process;
        const bool up = wait_until(
            [&] {
                return !p.running() || p.stderr_text().find("info: copying ") != std::string::npos;
            },
            10s);
        INFO(k.name << " did not start copying within 10 s: " << p.command()
                    << "\nstderr: " << p.stderr_text());
        REQUIRE(up);
        REQUIRE(p.running());
    }
    // B's first request must reach every capture well within the request gap (1 s).
    { std::ofstream(go_b.string()) << "go\n"; }
    const double b_at = seconds_since(copy_start);
    {
        INFO("the copiers took " << b_at << " s to start");
        REQUIRE(b_at < 0.7);
    }
    const std::string curl_w = "-sS --max-time 10 -w '%{http_code} %{num_connects}\\n'";
    std::ostringstream n;
    for (int i = 1; i <= 2; ++i) {
        n << "curl " << curl_w;
        for (int k = 1; k <= 3; ++k) {
            const std::string p = "/api/live/n" + std::to_string(i) + "/" + std::to_string(k);
            n << " -o /dev/null " << online.url(p);
            sent.push_back(p);
        }
        n << "\n";
    }
    const CommandResult news = run("client", {"bash", "-c", n.str()}, 30s);
    {
        INFO(news.describe());
        REQUIRE(news.ok());
        CHECK(split_lines(news.out) ==
              std::vector<std::string>{"200 1", "200 0", "200 0", "200 1", "200 0", "200 0"});
    }
    // P goes on 2 s after the copiers were started: more than the request gap since every
    // capture began.
    std::this_thread::sleep_until(copy_start + 2s);
    { std::ofstream(go_p.string()) << "go\n"; }
    for (Process* p : clients) {
        const auto code = p->wait(20s);
        INFO("client " << p->name() << ": " << p->stdout_text() << p->stderr_text());
        REQUIRE(code == std::optional<int>(0));
    }
    {
        // The online server saw exactly what the clients sent.
        const auto online_log = access_log_lines(online);
        std::map<std::string, uint64_t> want, got;
        for (const auto& p : sent) {
            ++want["GET " + p];
        }
        for (size_t i = 7; i < online_log.size(); ++i) {
            ++got[parse_log_line(online_log[i]).request];
        }
        REQUIRE(got == want);
    }

    uint64_t guessed_bytes = 0;
    for (const auto& p : guessed) {
        guessed_bytes += keepalive_request_bytes(p);
    }
    std::string summary;
    for (Copier& k : copiers) {
        std::map<std::string, uint64_t> expected;
        for (const auto& p : sent) {
            const bool skipped =
                k.strict && std::find(guessed.begin(), guessed.end(), p) != guessed.end();
            if (!skipped) {
                expected["GET " + p] += kCopies;
            }
        }
        const uint64_t expected_total = kCopies * (sent.size() - (k.strict ? guessed.size() : 0));
        const auto log = settled_log(*this, *k.target, 0, expected_total);
        k.process->signal(SIGINT);
        const auto code = k.process->wait(20s);
        const std::string out = k.process->stdout_text();
        const std::string err = k.process->stderr_text();
        const auto final_log = access_log_lines(*k.target);
        std::map<std::string, uint64_t> got;
        for (const auto& line : final_log) {
            ++got[parse_log_line(line).request];
        }
        std::optional<Json> j;
        if (fs::exists(k.report)) {
            j = Json::parse(read_text(k.report));
        }
        std::ostringstream line;
        line << "live " << k.name << ": " << (code ? "exit " + std::to_string(*code) : "KILLED")
             << "; served " << final_log.size() << " of " << expected_total << " expected";
        if (j) {
            line << "; already open: " << json_u64(j, "live", "mid_session")
                 << " copied (expected 6), " << json_u64(j, "live", "mid_session_never")
                 << " ended before a boundary, " << json_u64(j, "live", "mid_session_skipped_bytes")
                 << " bytes skipped (expected " << (k.strict ? guessed_bytes : 0) << "); sessions "
                 << json_u64(j, "sessions", "completed") << " completed of " << kCopies * 8
                 << ", status lines " << json_u64(j, "status_lines", "match") << " of "
                 << expected_total;
        }
        summary += "  " + line.str() + "\n";
        INFO(line.str() << "\n--- stdout ---\n" << out << "--- stderr ---\n" << err);
        INFO("served vs expected per request:\n" << count_diff(expected, got));
        CHECK(code == std::optional<int>(0));
        CHECK(log.size() == expected_total);
        CHECK(got == expected);
        REQUIRE(j.has_value());
        CHECK((*j)["live"]["connections"].as_u64() == 2);
        CHECK((*j)["live"]["mid_session"].as_u64() == 6);
        CHECK((*j)["live"]["mid_session_skipped_bytes"].as_u64() == (k.strict ? guessed_bytes : 0));
        CHECK((*j)["live"]["kernel_drops"].as_u64() == 0);
        CHECK((*j)["sessions"]["completed"].as_u64() == kCopies * 8);
        CHECK((*j)["sessions"]["timed_out"].as_u64() == 0);
        CHECK((*j)["sessions"]["reset_by_target"].as_u64() == 0);
        CHECK((*j)["status_lines"]["match"].as_u64() == expected_total);
        CHECK((*j)["status_lines"]["mismatch"].as_u64() == 0);
    }

    // The corpus: what the raw copier captured, as an archive (replayed with --in, every whole
    // request in it counts, the ones before the boundaries too).
    if (fs::exists(recorded)) {
        Capture c;
        c.name = "live-passthrough";
        c.format = "archive";
        c.file = recorded;
        c.server_address = co.addr_b;
        c.client_addresses = {co.addr_a};
        c.description =
            "tcpreplay2 live --record of 7 keep-alive connections open before the copy started "
            "(bash /dev/tcp clients: 3 quiet for 2 s then 4 requests, 3 sending 4 requests at "
            "once, 1 closing) and 2 new curl connections of 3 requests; a live copy must copy "
            "all 30 requests (27 with --no-request-start-guess: the first request of the 3 "
            "busy connections is not at a boundary)";
        c.facts = analyze_capture(*this, recorded, 80);
        c.counted_by =
            "tshark's HTTP dissector with TCP reassembly (whole requests, for a replay with "
            "--in); the live expectation is in made_by";
        keep_in_corpus(c);
    }
    WARN("fidelity live passthrough: " << sent.size()
                                       << " requests sent after the copy started; test "
                                       << fixed1(seconds_since(start)) << " s\n"
                                       << summary);
}

}  // namespace tcpr::test
