// End-to-end tests of intercept's door (docs/intercept-protocol.md, "Security"): the replay lab
// of replay_e2e_test.cpp (replayer, target with nginx, intercept on the assistant host) plus a
// "foreign" host on another network, routed to the assistant through the target. From there:
// a connection refused by the default allow-list and accepted with --allow; with --auth-key, a
// replayer without the key and one with a wrong key refused with one line each, and one with
// the key replaying the sample fully; and a second replayer that tries to register the tuples
// of a running replay, refused, while the running replay completes every session. Root only.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
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

struct DoorLab : ReplayLab {
    Sample sample;
    std::string foreign_addr;    // the foreign host's address
    std::string foreign_subnet;  // its network, not attached to the assistant
};

// replayer -- target -- assistant (ReplayLab, AssistantHost) and foreign -- target, the target
// forwarding between the foreign network and the assistant.
DoorLab make_door_lab(NetnsLab& lab) {
    DoorLab r;
    r.sample = import_sample(lab);
    static_cast<ReplayLab&>(r) = make_replay_lab(lab, Deployment::AssistantHost,
                                                 r.sample.client_addresses, r.sample.server_port);
    lab.add_host("foreign");
    const Link& ft = lab.link("foreign", "target");
    r.foreign_addr = ft.addr_a;
    r.foreign_subnet = ft.subnet;
    lab.add_route("foreign", "default", ft.addr_b);
    lab.set_sysctl("target", "net.ipv4.ip_forward", "1");
    // The forged client sources arrive from the foreign side too.
    lab.set_sysctl("target", "net.ipv4.conf." + ft.if_b + ".rp_filter", "0");
    lab.set_sysctl("foreign", "net.ipv4.conf.all.rp_filter", "0");
    // The foreign host reaches intercept's address through the target, and the assistant
    // answers the foreign network through it.
    lab.add_route("target", r.intercept_addr + "/32", r.intercept_gw);
    lab.add_route("assistant", ft.subnet, r.target_gw);
    return r;
}

Process& start_door_intercept(NetnsLab& lab, DoorLab& r, const std::vector<std::string>& extra,
                              const std::string& name) {
    std::vector<std::string> argv{binary("intercept"),
                                  "-i",
                                  r.intercept_if,
                                  "-F",
                                  "tcp and src port " + std::to_string(r.server_port),
                                  "-b",
                                  r.intercept_addr};
    argv.insert(argv.end(), extra.begin(), extra.end());
    Process& p = lab.spawn(r.intercept_host, argv, name);
    require_intercept_listening(p, r.intercept_addr, kInterceptPort);
    r.intercept = &p;
    return p;
}

// tcpreplay2 on the sample from `host` (replayer or foreign).
ReplayRun replay_from(NetnsLab& lab, const DoorLab& r, const std::string& host,
                      const std::vector<std::string>& args, std::chrono::milliseconds deadline,
                      const std::function<void()>& during = {},
                      std::chrono::milliseconds during_after = 0ms) {
    static int runs = 0;
    const fs::path report = lab.path("door-report-" + std::to_string(runs++) + ".json");
    std::vector<std::string> argv{binary("tcpreplay2"), "--in",     r.sample.archive.string(),
                                  "--target",           r.target,   "--intercept",
                                  r.intercept_addr,     "--report", "json",
                                  report.string(),      "-q"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_replayer(lab, host, argv, report, deadline, during, during_after);
}

std::vector<std::string> nonempty_lines(const std::string& text) {
    std::vector<std::string> out;
    for (const auto& l : split_lines(text)) {
        if (!l.empty()) {
            out.push_back(l);
        }
    }
    return out;
}

// The run failed at start with exactly one stderr line containing `what`.
void check_refused_with_one_line(const ReplayRun& run, const std::string& what) {
    INFO(run.describe());
    REQUIRE(run.exit_code.has_value());
    CHECK(*run.exit_code == 1);
    const auto lines = nonempty_lines(run.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find(what) != std::string::npos);
}

// Every session of the sample completed once, and nginx served exactly its requests.
void check_complete_replay(NetnsLab& lab, const DoorLab& r, const ReplayRun& run) {
    INFO(run.describe());
    REQUIRE(run.exit_code.has_value());
    CHECK(*run.exit_code == 0);
    REQUIRE(run.json.has_value());
    const Json& j = *run.json;
    CHECK(j["sessions"]["started"].as_u64() == r.sample.sessions);
    CHECK(j["sessions"]["completed"].as_u64() == r.sample.sessions);
    CHECK(j["sessions"]["refused_tuple_held"].as_u64() == 0);
    CHECK(j["status_lines"]["match"].as_u64() == r.sample.http_requests);
    const auto log = access_log(lab, *r.nginx, r.sample.http_requests);
    CHECK(log.size() == r.sample.http_requests);
    CHECK(sequence_counts(conversations(log)) == sequence_counts(r.sample.recorded));
}

// Stops intercept and returns its stderr (the summary is its last lines).
std::string stop_intercept(Process& p) {
    p.signal(SIGTERM);
    REQUIRE(p.wait(10s).has_value());
    return p.stderr_text();
}

}  // namespace

TEST_CASE_METHOD(NetnsLab,
                 "intercept refuses a foreign network by default and accepts it with --allow",
                 "[e2e][door]") {
    DoorLab r = make_door_lab(*this);
    Process& icpt = start_door_intercept(*this, r, {}, "intercept-default");
    const ReplayRun refused = replay_from(*this, r, "foreign", {}, 30s);
    check_refused_with_one_line(
        refused, "address " + r.foreign_addr + " is not allowed to use this intercept");
    const std::string log = stop_intercept(icpt);
    CHECK(log.find("refused a replayer connection from " + r.foreign_addr +
                   ": not in the allow-list") != std::string::npos);
    CHECK(log.find("0 replayers seen (1 refused)") != std::string::npos);

    // --allow its network: the foreign replayer replays the sample fully.
    start_door_intercept(*this, r, {"--allow", r.foreign_subnet}, "intercept-allow");
    const ReplayRun run = replay_from(*this, r, "foreign", {"--timeout", "10s"}, 60s);
    check_complete_replay(*this, r, run);
}

TEST_CASE_METHOD(NetnsLab, "with --auth-key, no key and a wrong key are refused, the key replays",
                 "[e2e][door]") {
    DoorLab r = make_door_lab(*this);
    const auto write_key = [&](const std::string& name, const std::string& text) {
        const fs::path p = path(name);
        std::ofstream(p) << text << "\n";
        REQUIRE(::chmod(p.c_str(), 0600) == 0);
        return p.string();
    };
    const std::string key = write_key("intercept.key", "dGNwci1kb29yLXRlc3Qta2V5LTIwMjY=");
    const std::string wrong = write_key("wrong.key", "c29tZSBvdGhlciBrZXkgYWx0b2dldGhlcg==");
    Process& icpt = start_door_intercept(*this, r, {"--allow", r.foreign_subnet, "--auth-key", key},
                                         "intercept");

    check_refused_with_one_line(replay_from(*this, r, "foreign", {}, 30s),
                                "requires a key: give tcpreplay2 --auth-key FILE");
    check_refused_with_one_line(replay_from(*this, r, "foreign", {"--auth-key", wrong}, 30s),
                                "refused this replayer: authentication failed");
    const ReplayRun run =
        replay_from(*this, r, "foreign", {"--timeout", "10s", "--auth-key", key}, 60s);
    check_complete_replay(*this, r, run);

    const std::string log = stop_intercept(icpt);
    CHECK(log.find("replayers refused for their key: 2") != std::string::npos);
    CHECK(log.find("1 replayers seen") != std::string::npos);
}

TEST_CASE_METHOD(NetnsLab,
                 "a second replayer cannot take the tuples of a running replay, which completes",
                 "[e2e][door]") {
    DoorLab r = make_door_lab(*this);
    // --allow is exactly what is given: the replayer's address too.
    Process& icpt = start_door_intercept(
        *this, r, {"--allow", r.foreign_subnet, "--allow", r.replayer_addr}, "intercept");
    // The same sample at the same speed from the foreign host, 0.3 s behind: each of its
    // registrations comes while the running replay holds that tuple (or after it is done with
    // it). Before intercept refused them, the last registration won and 5 to 9 of the 9
    // sessions of the running replay failed.
    ReplayRun second;
    const ReplayRun first = replay_from(
        *this, r, "replayer", {"--speed", "0.25x", "--timeout", "10s"}, 90s,
        [&] {
            second = replay_from(*this, r, "foreign", {"--speed", "0.25x", "--timeout", "5s"}, 60s);
        },
        300ms);
    {
        INFO(first.describe());
        REQUIRE(first.exit_code.has_value());
        CHECK(*first.exit_code == 0);
        REQUIRE(first.json.has_value());
        const Json& j = *first.json;
        CHECK(j["sessions"]["started"].as_u64() == r.sample.sessions);
        CHECK(j["sessions"]["completed"].as_u64() == r.sample.sessions);
        CHECK(j["sessions"]["timed_out"].as_u64() == 0);
        CHECK(j["sessions"]["aborted"].as_u64() == 0);
        CHECK(j["status_lines"]["match"].as_u64() == r.sample.http_requests);
    }
    {
        INFO(second.describe());
        REQUIRE(second.json.has_value());
        const Json& j = *second.json;
        CHECK(j["sessions"]["refused_tuple_held"].as_u64() >= 1);
        CHECK(second.out.find("refused by intercept: tuple held by another replayer") !=
              std::string::npos);
    }
    const std::string log = stop_intercept(icpt);
    CHECK(log.find("registrations refused (tuple held by another replayer)") != std::string::npos);
}

}  // namespace tcpr::test
