// End-to-end tests of tcpreplay2 + intercept: the bundled sample (samples/http.pcap, imported
// by the built tcprec at test time) replayed into a real nginx in network namespaces, checked
// against nginx's access log, the JSON report and the target's socket table (`ss`). Two
// deployments (docs/replay.md, "Deployment"): intercept on an assistant host, and intercept on
// the target itself behind a dummy (or ifb) interface. Then the bad situations: intercept or
// nginx killed mid-run, intercept unreachable at start, and a capture of everything the
// replayer's namespace puts on the wire. Root only (they fail loudly without it).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
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

constexpr uint16_t kInterceptPort = 36524;  // intercept's default (docs/intercept-protocol.md)

std::vector<std::string> split_words(const std::string& line) {
    std::vector<std::string> words;
    std::istringstream in(line);
    std::string w;
    while (in >> w) {
        words.push_back(w);
    }
    return words;
}

std::string host_of(const std::string& endpoint) { return endpoint.substr(0, endpoint.rfind(':')); }

// The sample, imported into an archive by our recorder, and what it holds.
struct Sample {
    fs::path archive;
    std::vector<std::string> client_addresses;  // recorded clients (tcprec --info)
    uint16_t server_port = 0;
    size_t sessions = 0;
    Conversations recorded;  // from samples/http.access.log (the recorded run's nginx)
    size_t http_requests = 0;
};

Sample import_sample(NetnsLab& lab) {
    Sample s;
    s.archive = lab.path("http.pcap.zst");
    const fs::path pcap = fs::path(TCPR_SOURCE_DIR) / "samples" / "http.pcap";
    const CommandResult imp =
        lab.run("", {binary("tcprec"), "-r", pcap.string(), "-o", s.archive.string(), "-q"}, 60s);
    {
        INFO(imp.describe());
        REQUIRE(imp.ok());
    }
    const CommandResult info = lab.run(
        "", {binary("tcprec"), "--info", s.archive.string(), "--all-sessions", "--json"}, 30s);
    INFO(info.describe());
    REQUIRE(info.ok());
    const Json j = Json::parse(info.out);
    std::set<std::string> clients;
    std::set<std::string> servers;
    for (const auto& session : j["sessions"].as_array()) {
        clients.insert(host_of(session["client"].as_string()));
        servers.insert(session["server"].as_string());
    }
    s.sessions = j["sessions"].size();
    s.client_addresses.assign(clients.begin(), clients.end());
    REQUIRE(servers.size() == 1);
    const std::string server = *servers.begin();
    s.server_port = static_cast<uint16_t>(std::stoul(server.substr(server.rfind(':') + 1)));

    const auto log_lines =
        split_lines(read_text(fs::path(TCPR_SOURCE_DIR) / "samples" / "http.access.log"));
    s.http_requests = log_lines.size();
    s.recorded = conversations(log_lines);
    // The access log of the recorded run and the archive describe the same connections.
    REQUIRE(s.recorded.size() == s.sessions);
    REQUIRE(s.http_requests > 0);
    return s;
}

enum class Deployment {
    AssistantHost,  // intercept on its own host; the target routes the clients to it
    SingleHost,     // intercept on the target; the clients are routed into a dummy interface
};

// replayer -- target (nginx), and intercept where the deployment puts it. The target routes
// every recorded client address to where intercept captures; nothing forwards the responses
// any further.
struct ReplayLab {
    Sample sample;
    const Nginx* nginx = nullptr;
    std::string target;          // nginx's address:port, for --target
    std::string replayer_addr;   // its address on the link toward intercept
    std::string intercept_host;  // role of the host intercept runs on
    std::string intercept_if;    // where intercept captures
    std::string intercept_addr;  // where intercept listens (-b) and the replayer connects
    std::string dummy_kind;      // SingleHost: "dummy" or "ifb"
    Process* intercept = nullptr;
};

// `links`: wire-sized segments (as on a real network) or the veth's default segmentation
// offload, where nginx's responses reach intercept as 64 kB super-segments.
ReplayLab make_replay_lab(NetnsLab& lab, Deployment d, LinkOptions links = LinkOptions()) {
    ReplayLab r;
    r.sample = import_sample(lab);
    lab.add_host("replayer");
    lab.add_host("target");
    const Link& rt = lab.link("replayer", "target", links);
    for (const std::string host : {"replayer", "target"}) {
        lab.set_sysctl(host, "net.ipv4.conf.all.rp_filter", "0");
        lab.set_sysctl(host, "net.ipv4.conf.default.rp_filter", "0");
    }
    // The forged client sources arrive here but are routed out elsewhere: no reverse-path drop.
    lab.set_sysctl("target", "net.ipv4.conf." + rt.if_b + ".rp_filter", "0");
    if (d == Deployment::AssistantHost) {
        lab.add_host("assistant");
        const Link& ta = lab.link("target", "assistant", links);
        const Link& ra = lab.link("replayer", "assistant", links);
        lab.set_sysctl("assistant", "net.ipv4.ip_forward", "0");  // responses die here
        lab.set_sysctl("target", "net.ipv4.conf." + ta.if_a + ".rp_filter", "0");
        for (const auto& client : r.sample.client_addresses) {
            lab.add_route("target", client + "/32", ta.addr_b);
        }
        r.replayer_addr = ra.addr_a;
        r.intercept_host = "assistant";
        r.intercept_if = ta.if_b;
        r.intercept_addr = ra.addr_b;
    } else {
        r.dummy_kind = lab.add_dummy("target", "tcpr0", lab.fresh_subnet() + ".1/24");
        for (const auto& client : r.sample.client_addresses) {
            lab.add_route_dev("target", client + "/32", "tcpr0");
        }
        r.replayer_addr = rt.addr_a;
        r.intercept_host = "target";
        r.intercept_if = "tcpr0";
        r.intercept_addr = rt.addr_b;
    }
    r.nginx = &lab.start_nginx("target", rt.addr_b, r.sample.server_port);
    r.target = rt.addr_b + ":" + std::to_string(r.sample.server_port);
    return r;
}

// Starts intercept and waits until it listens (its capture is open before it listens).
void start_intercept(NetnsLab& lab, ReplayLab& r) {
    Process& p = lab.spawn(
        r.intercept_host,
        {binary("intercept"), "-i", r.intercept_if, "-F",
         "tcp and src port " + std::to_string(r.sample.server_port), "-b", r.intercept_addr, "-q"},
        "intercept");
    require_intercept_listening(p, r.intercept_addr, kInterceptPort);
    r.intercept = &p;
}

// One tcpreplay2 run in the replayer namespace.
struct ReplayRun {
    std::string command;
    std::optional<int> exit_code;  // nullopt: still running after the deadline (then killed)
    std::string out, err;
    milliseconds elapsed{0};
    fs::path report;
    std::optional<Json> json;  // the --report file, if written

    std::string describe() const {
        std::ostringstream o;
        o << command << "\nexit code: " << (exit_code ? std::to_string(*exit_code) : "none")
          << " after " << elapsed.count() << " ms\n--- stdout ---\n"
          << out << "--- stderr ---\n"
          << err;
        return o.str();
    }
};

// Runs tcpreplay2 --in ARCHIVE --target T --intercept I --report json FILE -q ARGS; `during`
// (if any) runs after `during_after` while the replay is in flight. The replay is killed after
// `deadline` (its exit_code is then nullopt).
ReplayRun replay(NetnsLab& lab, const ReplayLab& r, const std::vector<std::string>& args,
                 milliseconds deadline, const std::function<void()>& during = {},
                 milliseconds during_after = 0ms) {
    static int runs = 0;
    ReplayRun run;
    run.report = lab.path("report-" + std::to_string(runs++) + ".json");
    std::vector<std::string> argv{binary("tcpreplay2"), "--in",     r.sample.archive.string(),
                                  "--target",           r.target,   "--intercept",
                                  r.intercept_addr,     "--report", "json",
                                  run.report.string(),  "-q"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto start = std::chrono::steady_clock::now();
    Process& p = lab.spawn("replayer", argv, "tcpreplay2");
    run.command = p.command();
    if (during) {
        std::this_thread::sleep_for(during_after);
        {
            INFO("tcpreplay2 ended before the fault was injected:\n"
                 << p.stdout_text() << p.stderr_text());
            REQUIRE(p.running());
        }
        during();
    }
    const auto left = deadline - std::chrono::duration_cast<milliseconds>(
                                     std::chrono::steady_clock::now() - start);
    run.exit_code = p.wait(std::max(left, milliseconds(0)));
    run.elapsed =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    if (!run.exit_code) {
        p.kill();
    }
    run.out = p.stdout_text();
    run.err = p.stderr_text();
    if (fs::exists(run.report)) {
        try {
            run.json = Json::parse(read_text(run.report));
        } catch (const std::exception& e) {
            FAIL("the --report file is not valid JSON: " << e.what() << "\n"
                                                         << read_text(run.report));
        }
    }
    return run;
}

// Connections on the target's port `port` in any state other than LISTEN and TIME-WAIT
// (ESTABLISHED, SYN-RECV, CLOSE-WAIT, LAST-ACK, FIN-WAIT-*...): `ss -tan` lines.
std::vector<std::string> open_connections(NetnsLab& lab, const std::string& host, uint16_t port) {
    const CommandResult r = lab.run(host, {"ss", "-tanH"}, 10s);
    INFO(r.describe());
    REQUIRE(r.ok());
    std::vector<std::string> open;
    const std::string suffix = ":" + std::to_string(port);
    for (const auto& line : split_lines(r.out)) {
        const auto w = split_words(line);
        REQUIRE(w.size() >= 5);
        const std::string& state = w[0];
        const std::string& local = w[3];
        const bool on_port =
            local.size() > suffix.size() &&
            local.compare(local.size() - suffix.size(), suffix.size(), suffix) == 0;
        if (on_port && state != "LISTEN" && state != "TIME-WAIT") {
            open.push_back(line);
        }
    }
    return open;
}

// No connection of the replay is left half-open on the target. The last ACK of a close may
// still be in flight when tcpreplay2 exits: allow it a second.
void check_nothing_half_open(NetnsLab& lab, const ReplayLab& r) {
    std::vector<std::string> open;
    wait_until(
        [&] {
            open = open_connections(lab, "target", r.sample.server_port);
            return open.empty();
        },
        1s);
    std::string listing;
    for (const auto& l : open) {
        listing += l + "\n";
    }
    INFO("connections left on the target:\n" << listing);
    CHECK(open.empty());
}

// The access log, once it has `expected` lines (or after 2 s).
std::vector<std::string> access_log(NetnsLab& lab, const Nginx& nginx, size_t expected) {
    std::vector<std::string> lines;
    wait_until(
        [&] {
            lines = lab.access_log_lines(nginx);
            return lines.size() >= expected;
        },
        2s);
    return lines;
}

constexpr uint64_t kCopies = 3;

// The run of the issue (`--copies 3 --speed 2x`) and every check of a complete replay.
void replay_sample_and_check(NetnsLab& lab, ReplayLab& r) {
    start_intercept(lab, r);
    const ReplayRun run =
        replay(lab, r, {"--copies", "3", "--speed", "2x", "--timeout", "10s"}, 60s);
    INFO(run.describe());
    REQUIRE(run.exit_code.has_value());
    CHECK(*run.exit_code == 0);
    REQUIRE(run.json.has_value());
    const Json& j = *run.json;
    const uint64_t sessions = r.sample.sessions * kCopies;

    // nginx served every recorded connection exactly 3 times: the same requests in the same
    // order, each copy from its own client endpoint, at the recorded client addresses.
    const auto log = access_log(lab, *r.nginx, r.sample.http_requests * kCopies);
    CHECK(log.size() == r.sample.http_requests * kCopies);
    const Conversations replayed = conversations(log);
    CHECK(replayed.size() == sessions);
    auto expected = sequence_counts(r.sample.recorded);
    for (auto& [requests, count] : expected) {
        count *= kCopies;
    }
    CHECK(sequence_counts(replayed) == expected);
    std::map<std::string, size_t> per_request, per_request_expected;
    for (const auto& line : log) {
        const LogEntry e = parse_log_line(line);
        ++per_request[e.request];
        CHECK(std::find(r.sample.client_addresses.begin(), r.sample.client_addresses.end(),
                        host_of(e.endpoint)) != r.sample.client_addresses.end());
    }
    for (const auto& [endpoint, requests] : r.sample.recorded) {
        for (const auto& req : requests) {
            per_request_expected[req] += kCopies;
        }
    }
    CHECK(per_request == per_request_expected);

    // The report agrees.
    CHECK(j["speed"].as_string() == "2x");
    CHECK(j["copies"].as_u64() == kCopies);
    CHECK(j["input_stats"]["sessions"].as_u64() == r.sample.sessions);
    CHECK(j["sessions"]["planned"].as_u64() == sessions);
    CHECK(j["sessions"]["started"].as_u64() == sessions);
    CHECK(j["sessions"]["completed"].as_u64() == sessions);
    CHECK(j["sessions"]["reset_by_target"].as_u64() == 0);
    CHECK(j["sessions"]["timed_out"].as_u64() == 0);
    CHECK(j["sessions"]["aborted"].as_u64() == 0);
    CHECK(j["sessions"]["closed_early"].as_u64() == 0);
    // The replayer's requests are cut from the byte stream (a POST body sent without waiting
    // for anything is its own "request"), so compare with the input's count, not nginx's.
    CHECK(j["requests"]["sent"].as_u64() == j["input_stats"]["requests"].as_u64() * kCopies);
    CHECK(j["requests"]["not_sent"].as_u64() == 0);
    // One response per HTTP request, each with the recorded status line.
    CHECK(j["responses"]["seen"].as_u64() == r.sample.http_requests * kCopies);
    CHECK(j["status_lines"]["match"].as_u64() == r.sample.http_requests * kCopies);
    CHECK(j["status_lines"]["mismatch"].as_u64() == 0);
    CHECK(j["packets"]["refused"].as_u64() == 0);
    CHECK(j["packets"]["failed"].as_u64() == 0);
    CHECK(j["intercept_link"]["disconnects"].as_u64() == 0);
    CHECK(j["intercept_link"]["reports"].as_u64() > 0);
    // Paced at 2x: the last session starts at its recorded offset / 2 (not "as fast as
    // possible"), and the whole run stays near half the recorded span.
    const double recorded_s = static_cast<double>(j["recorded_ns"].as_u64()) / 1e9;
    const double wall_s = static_cast<double>(j["wall_ns"].as_u64()) / 1e9;
    CHECK(wall_s >= 0.4 * recorded_s);
    CHECK(wall_s < recorded_s / 2 + 10.0);
    // The summary on stdout says the same.
    CHECK(run.out.find("sessions: " + std::to_string(sessions) + " started of " +
                       std::to_string(sessions) + " planned; " + std::to_string(sessions) +
                       " completed, 0 reset by target, 0 timed out") != std::string::npos);
    CHECK(run.out.find("failed sessions: 0.00%") != std::string::npos);

    check_nothing_half_open(lab, r);
}

// The ordinary tcpdump rendering of a packet: "... IP 10.99.0.1.50001 > 10.64.0.2.80: ...".
struct Packet {
    std::string src, dst;  // address.port (IPv4) or address (other)
    std::string kind;      // "IP", "IP6", "ARP" or "other"
};

Packet parse_tcpdump_line(const std::string& line) {
    Packet p;
    if (line.find(" ARP, ") != std::string::npos) {
        p.kind = "ARP";
        return p;
    }
    for (const std::string kind : {"IP", "IP6"}) {
        const auto at = line.find(" " + kind + " ");
        if (at == std::string::npos) {
            continue;
        }
        p.kind = kind;
        const auto w = split_words(line.substr(at + kind.size() + 2));
        if (w.size() >= 3 && w[1] == ">") {
            p.src = w[0];
            p.dst = w[2];
            if (!p.dst.empty() && p.dst.back() == ':') {
                p.dst.pop_back();
            }
        }
        return p;
    }
    p.kind = "other";
    return p;
}

}  // namespace

TEST_CASE_METHOD(NetnsLab, "replay of the sample through intercept on an assistant host",
                 "[e2e][replay]") {
    LinkOptions links;
    links.wire_sized_segments = GENERATE(true, false);
    CAPTURE(links.wire_sized_segments);
    ReplayLab r = make_replay_lab(*this, Deployment::AssistantHost, links);
    replay_sample_and_check(*this, r);
}

TEST_CASE_METHOD(NetnsLab, "replay of the sample with intercept on the target (dummy interface)",
                 "[e2e][replay]") {
    LinkOptions links;
    links.wire_sized_segments = GENERATE(true, false);
    CAPTURE(links.wire_sized_segments);
    ReplayLab r = make_replay_lab(*this, Deployment::SingleHost, links);
    CAPTURE(r.dummy_kind);
    replay_sample_and_check(*this, r);
}

TEST_CASE_METHOD(NetnsLab, "intercept killed mid-run: sessions in flight time out, exit 3",
                 "[e2e][replay]") {
    ReplayLab r = make_replay_lab(*this, Deployment::AssistantHost);
    start_intercept(*this, r);
    // At 0.5x the sample lasts 3.3 s: its first five sessions end by 0.85 s, session 50002
    // runs from 1.23 s to 2.03 s, the last three start after 2.46 s. Intercept dies at 1.6 s.
    Process* intercept = r.intercept;
    const ReplayRun run = replay(
        *this, r, {"--copies", "3", "--speed", "0.5x", "--timeout", "3s"}, 40s,
        [&] { intercept->kill(); }, 1600ms);
    INFO(run.describe());
    REQUIRE(run.exit_code.has_value());
    CHECK(*run.exit_code == 3);
    // Every session ends by --timeout after its start at the latest: the last starts at 2.9 s.
    CHECK(run.elapsed < 2900ms + 3s + 4s);
    REQUIRE(run.json.has_value());
    const Json& s = (*run.json)["sessions"];
    const uint64_t sessions = r.sample.sessions * kCopies;
    CHECK(s["planned"].as_u64() == sessions);
    // Every planned session is accounted for, as completed or failed.
    CHECK(s["completed"].as_u64() + s["reset_by_target"].as_u64() + s["timed_out"].as_u64() +
              s["aborted"].as_u64() ==
          sessions);
    CHECK(s["completed"].as_u64() >= 4 * kCopies);  // the five first sessions, give or take
    CHECK(s["reset_by_target"].as_u64() == 0);
    // At least the three last sessions (x3) could not be replayed without intercept.
    CHECK(s["timed_out"].as_u64() >= 3 * kCopies);
    CHECK(s["timed_out_intercept_down"].as_u64() == s["timed_out"].as_u64());
    CHECK((*run.json)["intercept_link"]["disconnects"].as_u64() >= 1);
    CHECK((*run.json)["intercept_link"]["reconnects"].as_u64() == 0);
    CHECK(run.out.find("while intercept was unreachable") != std::string::npos);
    CHECK(run.out.find("FAILED") != std::string::npos);
    CHECK(run.err.find("intercept") != std::string::npos);
    // What nginx served is what the report says completed (plus at most the requests of the
    // sessions that timed out after the loss).
    const auto log = access_log_lines(*r.nginx);
    CHECK(conversations(log).size() >= s["completed"].as_u64());
    // The sessions in flight were reset by the replayer: nothing stays open on the target.
    check_nothing_half_open(*this, r);
}

TEST_CASE_METHOD(NetnsLab, "nginx stopped mid-run: sessions are reset by the target, no hang",
                 "[e2e][replay]") {
    ReplayLab r = make_replay_lab(*this, Deployment::AssistantHost);
    start_intercept(*this, r);
    Process* nginx = r.nginx->process;
    // Same timing as above; --timeout 10s is far above what the run may take: a refused
    // session fails at once, it does not wait for a timeout.
    const ReplayRun run = replay(
        *this, r, {"--copies", "3", "--speed", "0.5x", "--timeout", "10s"}, 40s,
        [&] { nginx->kill(); }, 1600ms);
    INFO(run.describe());
    REQUIRE(run.exit_code.has_value());
    CHECK(*run.exit_code == 3);
    CHECK(run.elapsed < 3300ms + 3s);
    REQUIRE(run.json.has_value());
    const Json& s = (*run.json)["sessions"];
    const uint64_t sessions = r.sample.sessions * kCopies;
    CHECK(s["planned"].as_u64() == sessions);
    CHECK(s["completed"].as_u64() + s["reset_by_target"].as_u64() + s["timed_out"].as_u64() +
              s["aborted"].as_u64() ==
          sessions);
    CHECK(s["completed"].as_u64() >= 4 * kCopies);
    CHECK(s["timed_out"].as_u64() == 0);
    // The three last sessions (x3) found the port closed.
    CHECK(s["reset_by_target"].as_u64() >= 3 * kCopies);
    CHECK((*run.json)["intercept_link"]["disconnects"].as_u64() == 0);
    CHECK(run.out.find("FAILED") != std::string::npos);
    check_nothing_half_open(*this, r);
}

TEST_CASE_METHOD(NetnsLab, "intercept unreachable at start: one error line, exit 1",
                 "[e2e][replay]") {
    ReplayLab r = make_replay_lab(*this, Deployment::AssistantHost);
    // Nothing listens there (refused), or nobody has that address at all (no ARP answer).
    const bool nobody = GENERATE(false, true);
    CAPTURE(nobody);
    if (nobody) {
        r.intercept_addr = r.intercept_addr.substr(0, r.intercept_addr.rfind('.')) + ".77";
    }
    const ReplayRun run = replay(*this, r, {"--copies", "3"}, 30s);
    INFO(run.describe());
    REQUIRE(run.exit_code.has_value());
    CHECK(*run.exit_code == 1);
    CHECK(run.elapsed < 15s);
    const auto lines = split_lines(run.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("tcpreplay2: error: cannot reach intercept at " + r.intercept_addr + ":" +
                             std::to_string(kInterceptPort) + ": ",
                         0) == 0);
    CHECK(run.out.empty());
    CHECK_FALSE(run.json.has_value());
    // Nothing was sent to the target.
    CHECK(access_log_lines(*r.nginx).empty());
}

TEST_CASE_METHOD(NetnsLab, "the replayer sends nothing but to --target and intercept",
                 "[e2e][replay]") {
    ReplayLab r = make_replay_lab(*this, Deployment::AssistantHost);
    start_intercept(*this, r);
    NetnsLab::require_tool("tcpdump", "to capture what the replayer sends");
    const fs::path pcap = path("replayer.pcap");
    // Everything on every interface of the replayer's namespace. Immediate mode: with the
    // default buffered (TPACKET_V3) capture, packets still in an unretired ring block when
    // tcpdump is interrupted are never written.
    Process& dump = spawn(
        "replayer",
        {"tcpdump", "--immediate-mode", "-i", "any", "-n", "-U", "-s", "96", "-w", pcap.string()},
        "tcpdump");
    {
        const bool listening = wait_until(
            [&] {
                return !dump.running() ||
                       dump.stderr_text().find("listening on") != std::string::npos;
            },
            10s);
        INFO("tcpdump: " << dump.stderr_text());
        REQUIRE(listening);
        REQUIRE(dump.running());
    }
    const ReplayRun run = replay(*this, r, {"--copies", "3", "--speed", "max"}, 60s);
    {
        INFO(run.describe());
        REQUIRE(run.exit_code == std::optional<int>(0));
    }
    std::this_thread::sleep_for(300ms);
    dump.signal(SIGINT);
    const auto dump_code = dump.wait(10s);
    INFO("tcpdump: " << dump.stderr_text());
    REQUIRE(dump_code == std::optional<int>(0));
    CHECK(dump.stderr_text().find("\n0 packets dropped by kernel") != std::string::npos);
    const std::string dump_err = dump.stderr_text();
    const auto captured_at = dump_err.find(" packets captured");
    REQUIRE(captured_at != std::string::npos);
    const auto line_start = dump_err.rfind('\n', captured_at);
    const uint64_t captured = std::stoull(dump_err.substr(line_start + 1));

    const CommandResult read = NetnsLab::run("", {"tcpdump", "-nr", pcap.string()}, 60s);
    INFO(read.describe());
    REQUIRE(read.ok());
    const std::string target_dst = r.nginx->address + "." + std::to_string(r.nginx->port);
    const std::string intercept_ep = r.intercept_addr + "." + std::to_string(kInterceptPort);
    uint64_t to_target = 0, control = 0;
    std::vector<std::string> unexpected;
    for (const auto& line : split_lines(read.out)) {
        const Packet p = parse_tcpdump_line(line);
        bool ok = false;
        if (p.kind == "IP") {
            if (p.dst == target_dst) {
                // A forged client packet: from a recorded client address.
                const std::string src_host = p.src.substr(0, p.src.rfind('.'));
                ok = std::find(r.sample.client_addresses.begin(), r.sample.client_addresses.end(),
                               src_host) != r.sample.client_addresses.end();
                to_target += ok ? 1 : 0;
            } else if (p.dst == intercept_ep || p.src == intercept_ep) {
                // The control connection, both ways.
                ok = (p.dst == intercept_ep ? p.src : p.dst).rfind(r.replayer_addr + ".", 0) == 0;
                control += ok ? 1 : 0;
            }
        } else if (p.kind == "ARP") {
            ok = true;  // neighbour resolution on the two links
        } else if (p.kind == "IP6") {
            // The kernel's own link-local multicast (router solicitation, MLD) on a new link.
            ok = p.dst.rfind("ff02::", 0) == 0;
        }
        if (!ok) {
            unexpected.push_back(line);
        }
    }
    std::string listing;
    for (size_t i = 0; i < unexpected.size() && i < 20; ++i) {
        listing += unexpected[i] + "\n";
    }
    INFO(unexpected.size() << " packets to or from anything else:\n" << listing);
    CHECK(unexpected.empty());
    CHECK(control > 0);
    CHECK(split_lines(read.out).size() == captured);
    // Every packet the replayer reports as sent went to the target, and nothing else did.
    REQUIRE(run.json.has_value());
    CHECK(to_target == (*run.json)["packets"]["sent"].as_u64());
    CHECK((*run.json)["packets"]["refused"].as_u64() == 0);
    CHECK((*run.json)["sessions"]["completed"].as_u64() == r.sample.sessions * kCopies);
}

}  // namespace tcpr::test
