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
#include "support/replay_lab.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// The replay lab (tests/support/replay_lab.h) with the sample it replays.
struct SampleLab : ReplayLab {
    Sample sample;
};

// The sample imported first, then the lab routing its recorded clients to intercept.
SampleLab make_sample_lab(NetnsLab& lab, Deployment d, LinkOptions links = LinkOptions()) {
    SampleLab r;
    r.sample = import_sample(lab);
    static_cast<ReplayLab&>(r) =
        make_replay_lab(lab, d, r.sample.client_addresses, r.sample.server_port, links);
    return r;
}

// Runs tcpreplay2 on the sample (see replay() in tests/support/replay_lab.h).
ReplayRun replay(NetnsLab& lab, const SampleLab& r, const std::vector<std::string>& args,
                 milliseconds deadline, const std::function<void()>& during = {},
                 milliseconds during_after = 0ms) {
    return tcpr::test::replay(lab, r, r.sample.archive, args, deadline, during, during_after);
}

constexpr uint64_t kCopies = 3;

// The run of the issue (`--copies 3 --speed 2x`) and every check of a complete replay.
void replay_sample_and_check(NetnsLab& lab, SampleLab& r) {
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
    SampleLab r = make_sample_lab(*this, Deployment::AssistantHost, links);
    replay_sample_and_check(*this, r);
}

TEST_CASE_METHOD(NetnsLab, "replay of the sample with intercept on the target (dummy interface)",
                 "[e2e][replay]") {
    LinkOptions links;
    links.wire_sized_segments = GENERATE(true, false);
    CAPTURE(links.wire_sized_segments);
    SampleLab r = make_sample_lab(*this, Deployment::SingleHost, links);
    CAPTURE(r.dummy_kind);
    replay_sample_and_check(*this, r);
}

TEST_CASE_METHOD(NetnsLab, "intercept killed mid-run: sessions in flight time out, exit 3",
                 "[e2e][replay]") {
    SampleLab r = make_sample_lab(*this, Deployment::AssistantHost);
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
    SampleLab r = make_sample_lab(*this, Deployment::AssistantHost);
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
    SampleLab r = make_sample_lab(*this, Deployment::AssistantHost);
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
    SampleLab r = make_sample_lab(*this, Deployment::AssistantHost);
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
