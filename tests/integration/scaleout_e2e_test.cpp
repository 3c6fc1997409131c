// End-to-end tests of scaling out (docs/deploy.md): a recording replayed by 3 shard processes,
// each in its own network namespace, into one nginx through one intercept serves exactly what
// one replayer serves, and their merged report has the single run's counts; a recording
// rotated by tcprec -C into several archives and replayed with a glob serves exactly what the
// same traffic recorded unrotated serves. Root only (they fail loudly without it).
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/e2e_helpers.h"
#include "support/json_lite.h"
#include "support/netns_lab.h"
#include "support/replay_lab.h"
#include "support/subprocess.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// Requests per request line, over the access-log lines.
std::map<std::string, size_t> request_counts(const std::vector<std::string>& log) {
    std::map<std::string, size_t> n;
    for (const auto& line : log) {
        ++n[parse_log_line(line).request];
    }
    return n;
}

// Lines appended to the access log since it had `before` lines, once `expected` more came.
std::vector<std::string> new_log_lines(NetnsLab& lab, const Nginx& nginx, size_t before,
                                       size_t expected) {
    const auto all = lab.settled_access_log(nginx, before + expected, 5, 15s);
    return std::vector<std::string>(all.begin() + static_cast<std::ptrdiff_t>(before), all.end());
}

// The counts a report gives of a replay (merged or not), by name.
std::map<std::string, uint64_t> report_counts(const Json& j) {
    std::map<std::string, uint64_t> c;
    for (const char* k : {"planned", "started", "completed", "reset_by_target", "timed_out"}) {
        c[std::string("sessions.") + k] = j["sessions"][k].as_u64();
    }
    c["requests.sent"] = j["requests"]["sent"].as_u64();
    c["responses.seen"] = j["responses"]["seen"].as_u64();
    c["status_lines.match"] = j["status_lines"]["match"].as_u64();
    c["status_lines.mismatch"] = j["status_lines"]["mismatch"].as_u64();
    c["input_stats.sessions"] = j["input_stats"]["sessions"].as_u64();
    c["input_stats.requests"] = j["input_stats"]["requests"].as_u64();
    for (const auto& e : j["endpoints"].as_array()) {
        const std::string name = "endpoint " + e["name"].as_string();
        c[name + " requests"] = e["requests"].as_u64();
        c[name + " status_mismatch"] = e["status_mismatch"].as_u64();
        c[name + " latency count"] = e["latency_replayed_us"]["count"].as_u64();
    }
    return c;
}

}  // namespace

TEST_CASE_METHOD(NetnsLab,
                 "three shards in their own namespaces serve exactly what one replayer serves, "
                 "and their merged report has its counts",
                 "[e2e][shard]") {
    const Sample sample = import_sample(*this);
    ReplayLab r = make_replay_lab(*this, Deployment::AssistantHost, sample.client_addresses,
                                  sample.server_port);
    // Shard 0 runs on "replayer"; shards 1 and 2 on hosts of their own, each with its links to
    // the target (forged packets) and to the assistant (intercept's connection).
    const std::vector<std::string> hosts{"replayer", "shard1", "shard2"};
    for (size_t i = 1; i < hosts.size(); ++i) {
        add_host(hosts[i]);
        set_sysctl(hosts[i], "net.ipv4.conf.all.rp_filter", "0");
        const Link& to_target = link(hosts[i], "target");
        const Link& to_assistant = link(hosts[i], "assistant");
        set_sysctl("target", "net.ipv4.conf." + to_target.if_b + ".rp_filter", "0");
        add_route(hosts[i], r.target_addr + "/32", to_target.addr_b);
        add_route(hosts[i], r.intercept_addr + "/32", to_assistant.addr_b);
    }
    start_intercept(*this, r);
    constexpr uint64_t kCopies = 2;
    const std::vector<std::string> common{
        "--copies", std::to_string(kCopies), "--speed", "2x", "--timeout", "10s"};

    // One replayer.
    const ReplayRun single = replay(*this, r, sample.archive, common, 60s);
    {
        INFO(single.describe());
        REQUIRE(single.exit_code == std::optional<int>(0));
        REQUIRE(single.json.has_value());
    }
    const size_t expected = sample.http_requests * kCopies;
    const auto single_log = new_log_lines(*this, *r.nginx, 0, expected);
    REQUIRE(single_log.size() == expected);

    // Three shards, started together by --start-at, each with its own report.
    const auto start = std::chrono::system_clock::now() + 3s;
    const std::string start_at = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(start.time_since_epoch()).count() + 1);
    std::vector<Process*> shards;
    std::vector<fs::path> reports;
    for (size_t i = 0; i < hosts.size(); ++i) {
        reports.push_back(path("shard-" + std::to_string(i) + ".json"));
        std::vector<std::string> argv{binary("tcpreplay2"),
                                      "--in",
                                      sample.archive.string(),
                                      "--target",
                                      r.target,
                                      "--intercept",
                                      r.intercept_addr,
                                      "--shard",
                                      std::to_string(i) + "/3",
                                      "--start-at",
                                      start_at,
                                      "--report",
                                      "json",
                                      reports.back().string(),
                                      "-q"};
        argv.insert(argv.end(), common.begin(), common.end());
        shards.push_back(&spawn(hosts[i], argv, "shard" + std::to_string(i)));
    }
    uint64_t sessions_in_shards = 0;
    for (size_t i = 0; i < shards.size(); ++i) {
        const auto code = shards[i]->wait(90s);
        INFO("shard " << i << ": " << shards[i]->command() << "\nstdout:\n"
                      << shards[i]->stdout_text() << "\nstderr:\n"
                      << shards[i]->stderr_text());
        REQUIRE(code == std::optional<int>(0));
        const Json j = read_json(reports[i]);
        CHECK(j["shard"]["index"].as_u64() == i);
        CHECK(j["shard"]["count"].as_u64() == 3);
        sessions_in_shards += j["input_stats"]["sessions"].as_u64();
    }
    CHECK(sessions_in_shards == sample.sessions);

    // nginx served the same requests, in the same sequences per connection, as for the single
    // replayer: nothing lost or doubled between shards, no tuple shared.
    const auto sharded_log = new_log_lines(*this, *r.nginx, single_log.size(), expected);
    CHECK(sharded_log.size() == expected);
    CHECK(request_counts(sharded_log) == request_counts(single_log));
    CHECK(sequence_counts(connections(sharded_log)) == sequence_counts(connections(single_log)));

    // The merged report has the single run's counts.
    const fs::path merged = path("merged.json");
    std::vector<std::string> argv{binary("tcpreplay2"), "--merge-reports", merged.string()};
    for (const auto& p : reports) {
        argv.push_back(p.string());
    }
    const CommandResult m = run("", argv, 30s);
    INFO(m.describe());
    REQUIRE(m.ok());
    const Json mj = read_json(merged);
    CHECK(report_counts(mj) == report_counts(*single.json));
    check_nothing_half_open(*this, r);
}

TEST_CASE_METHOD(NetnsLab,
                 "a recording rotated by tcprec -C and replayed with a glob serves exactly what "
                 "the unrotated recording serves",
                 "[e2e][inputs]") {
    require_tool("curl", "as the HTTP client");
    add_host("client");
    add_host("server");
    const Link& l = link("client", "server");
    const Nginx& nginx = start_nginx("server", l.addr_b, 80);
    const fs::path dir = path("rotated");
    fs::create_directories(dir);
    give_to_nobody(dir);  // tcprec writes its archives as nobody
    const fs::path whole = path("whole.pcap.zst");
    // The same traffic recorded twice at once: rotated every 400 kB, and in one archive.
    const auto record = [&](const fs::path& out, std::vector<std::string> extra) -> Process& {
        std::vector<std::string> argv{binary("tcprec"), "-i", l.if_b, "-p", "80", "-q"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.insert(argv.end(), {"-o", out.string()});
        Process& p = spawn("server", argv, "tcprec");
        const bool opened = wait_until(
            [&] {
                return fs::exists(out.string() + ".partial") || fs::exists(out) || !p.running();
            },
            10s);
        INFO(p.stderr_text());
        REQUIRE(opened);
        return p;
    };
    Process& rotated = record(dir / "web.pcap.zst", {"-C", "400k"});
    Process& unrotated = record(whole, {});
    // tcprec rotates at its once-a-second flush at the earliest: the traffic takes > 4 s.
    constexpr int kClients = 8;
    // Keep-alive connections that span the rotations: each downloads 300 kB of noise between
    // small requests; plus short connections.
    for (int i = 0; i < kClients; ++i) {
        const std::string port = std::to_string(45000 + i);
        const CommandResult c =
            run("client",
                {"curl", "-s", "--max-time", "10", "--local-port", port, "-o", "/dev/null",
                 nginx.url("/small?i=" + std::to_string(i)), "-o", "/dev/null", nginx.url("/noise"),
                 "-o", "/dev/null", nginx.url("/api/v1/items/" + std::to_string(i))},
                20s);
        REQUIRE(c.ok());
        const CommandResult s = run(
            "client", {"curl", "-s", "--max-time", "10", "-o", "/dev/null", nginx.url("/")}, 20s);
        REQUIRE(s.ok());
        std::this_thread::sleep_for(500ms);
    }
    std::this_thread::sleep_for(500ms);  // the last packets reach both recorders
    for (Process* p : {&rotated, &unrotated}) {
        p->signal(SIGINT);
        INFO(p->stderr_text());
        REQUIRE(p->wait(10s) == std::optional<int>(0));
    }
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        CHECK(e.path().string().find(".partial") == std::string::npos);
        ++files;
    }
    INFO("rotated files: " << files);
    REQUIRE(files >= 3);
    const size_t recorded = access_log_lines(nginx).size();
    REQUIRE(recorded == kClients * 4);

    // Each replayed (socket transport, from the client host) into the same nginx.
    const auto replay_of = [&](const std::string& input, const std::string& name) {
        const fs::path report = path(name + ".json");
        const size_t before = access_log_lines(nginx).size();
        const CommandResult rr =
            run("client",
                {binary("tcpreplay2"), "--in", input, "--target", l.addr_b + ":80", "--transport",
                 "socket", "--speed", "4x", "--report", "json", report.string(), "-q"},
                60s);
        INFO(rr.describe());
        REQUIRE(rr.ok());
        return std::make_pair(new_log_lines(*this, nginx, before, recorded), read_json(report));
    };
    const auto [whole_log, whole_json] = replay_of(whole.string(), "whole");
    const auto [glob_log, glob_json] = replay_of((dir / "web*.pcap.zst").string(), "glob");
    CHECK(whole_log.size() == recorded);
    CHECK(glob_log.size() == recorded);
    CHECK(request_counts(glob_log) == request_counts(whole_log));
    CHECK(sequence_counts(connections(glob_log)) == sequence_counts(connections(whole_log)));
    CHECK(glob_json["format"].as_string() == std::to_string(files) + " archives");
    CHECK(report_counts(glob_json) == report_counts(whole_json));
    CHECK(glob_json["input_stats"]["sessions"].as_u64() == kClients * 2);
}

}  // namespace tcpr::test
