// End-to-end test of the comparison per endpoint on Redis (issue 13, docs/replay.md "The
// comparison per endpoint"): three concurrent redis-cli clients (GET of k1..k5 and of a 100 kB
// value, HGET, LRANGE, EXISTS, PING; each command 3 times on a connection of its own) against a
// redis-server holding known keys, recorded live by tcprec, replayed with --copies 2 into a
// fresh redis-server holding the same data except that one key (k3) holds another value of the
// same length: only the answer's digest can tell. Over both transports the report flags
// exactly the GETs of k3 (under "redis GET") and nothing else, compares every answer (the
// 100 kB ones too), and the target's INFO commandstats show every recorded command executed
// once per copy. Root only (namespaces).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
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

constexpr uint64_t kCopies = 2;
constexpr int kClients = 3;  // concurrent clients, each running kMix
constexpr int kRepeat = 3;   // each command of kMix, one connection each (redis-cli -r)
// The mix each client sends: every command on a connection of its own, kRepeat times (redis-cli
// with the command as arguments; reading commands from stdin it would first send COMMAND DOCS,
// whose answer lists the commands in an order that differs between two redis-server processes).
const std::vector<std::string> kMix{"GET k1",    "GET k2",         "GET k3",
                                    "GET k4",    "GET k5",         "GET big",
                                    "HGET h1 f", "LRANGE l1 0 -1", "EXISTS k1 k5 nokey",
                                    "PING"};
// GETs of k3 the clients send: the requests whose answers must differ on the target.
constexpr uint64_t kRecordedK3Gets = kClients * kRepeat;
// Every k value has the same length; the target's k3 differs in its bytes only.
const std::string kRecordedK3 = "value-3-abcdef";
const std::string kChangedK3 = "value-3-ABCDEF";

// Loads k1..k5, big (about 100 kB: its answer spans many segments and reads), h1 {f, g} and
// l1 [a, b, c] into the redis on `host`, k3 holding `k3`.
void load_data(NetnsLab& lab, const std::string& host, const std::string& addr,
               const std::string& k3) {
    const std::string cli = "redis-cli -h " + addr + " -p 6379";
    std::ostringstream s;
    s << "set -e; printf '%s\\n'";
    for (int i = 1; i <= 5; ++i) {
        s << " 'SET k" << i << " " << (i == 3 ? k3 : "value-" + std::to_string(i) + "-abcdef")
          << "'";
    }
    s << " 'HSET h1 f hash-value g other' 'RPUSH l1 a b c' | " << cli
      << "; seq 1 20000 | tr '\\n' , | " << cli << " -x SET big";
    const CommandResult r = lab.sh(host, s.str(), 20s);
    INFO(r.describe());
    REQUIRE(r.ok());
    REQUIRE(r.out.find("ERR") == std::string::npos);
}

// "command|docs" or "get" -> "COMMAND" or "GET": the endpoint's command.
std::string command_name(const std::string& stat) {
    std::string name = stat.substr(0, stat.find('|'));
    for (char& c : name) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return name;
}

std::map<std::string, uint64_t> minus(std::map<std::string, uint64_t> after,
                                      const std::map<std::string, uint64_t>& before) {
    for (auto& [command, calls] : after) {
        calls -= before.count(command) ? before.at(command) : 0;
    }
    std::erase_if(after, [](const auto& kv) { return kv.second == 0; });
    return after;
}

struct Recorded {
    fs::path archive;
    std::string client_addr;
    std::map<std::string, uint64_t> commands;  // what the online redis executed while recorded
};

// Records kClients concurrent clients, each sending kMix with redis-cli, against a redis on
// "online" (hosts "client" and "online").
Recorded record(NetnsLab& lab) {
    const CaptureLab cl = make_capture_lab(lab, LinkOptions(), false);
    start_redis(lab, "online", cl.online_addr, "redis-online");
    load_data(lab, "online", cl.online_addr, kRecordedK3);
    const auto before = redis_command_calls(lab, "online", cl.online_addr);

    Recorded rec{lab.path("redis.pcap.zst"), cl.client_addr, {}};
    Recorder recorder = Recorder::tcprec(lab, "online", cl.capture_if, 6379, rec.archive);
    std::ostringstream s;
    for (int c = 0; c < kClients; ++c) {
        s << "(set -e";
        for (const std::string& command : kMix) {
            s << "; redis-cli -h " << cl.online_addr << " -p 6379 -r " << kRepeat << " " << command;
        }
        s << ") > " << lab.path("client-" + std::to_string(c) + ".out").string() << " & p" << c
          << "=$!; ";
    }
    for (int c = 0; c < kClients; ++c) {
        s << "wait $p" << c << " && ";
    }
    s << "cat " << lab.path("client-").string() << "*.out";
    const CommandResult load = lab.sh("client", s.str(), 30s);
    recorder.stop();
    INFO(load.describe());
    REQUIRE(load.ok());
    // Every GET of k3 was answered with the recorded value.
    const auto lines = split_lines(load.out);
    REQUIRE(static_cast<uint64_t>(std::count(lines.begin(), lines.end(), kRecordedK3)) ==
            kRecordedK3Gets);
    rec.commands = minus(redis_command_calls(lab, "online", cl.online_addr), before);
    std::ostringstream calls;
    for (const auto& [command, n] : rec.commands) {
        calls << " " << command << "=" << n;
    }
    INFO("the online redis executed while recorded:" << calls.str());
    REQUIRE(rec.commands.at("get") == 6 * kRecordedK3Gets);
    REQUIRE(rec.commands.at("ping") == kRecordedK3Gets);
    REQUIRE(rec.commands.count("command") + rec.commands.count("command|docs") == 0);
    return rec;
}

// The report and the target of a replay with --copies 2 into the target holding the changed k3.
void check(const ReplayRun& run, const Recorded& rec,
           const std::map<std::string, uint64_t>& served) {
    std::ostringstream endpoints;
    if (run.json) {
        for (const Json& e : (*run.json)["endpoints"].as_array()) {
            endpoints << e["name"].as_string() << ": requests " << e["requests"].as_u64()
                      << ", status_mismatch " << e["status_mismatch"].as_u64() << ", body_compared "
                      << e["body_compared"].as_u64() << ", body_mismatch "
                      << e["body_mismatch"].as_u64() << ", body_noise " << e["body_noise"].as_u64()
                      << ", latency counts " << e["latency_recorded_us"]["count"].as_u64() << "/"
                      << e["latency_replayed_us"]["count"].as_u64() << "\n";
        }
    }
    INFO(run.describe(6000) << "\nendpoints:\n" << endpoints.str());
    REQUIRE(run.exit_code == std::optional<int>(0));
    REQUIRE(run.json.has_value());
    const Json& j = *run.json;

    // The target executed every recorded command once per copy.
    std::map<std::string, uint64_t> expected;
    for (const auto& [command, calls] : rec.commands) {
        expected[command] = kCopies * calls;
    }
    CHECK(served == expected);

    // One endpoint per recorded command, each answer counted once.
    std::map<std::string, uint64_t> per_endpoint;
    for (const auto& [command, calls] : rec.commands) {
        per_endpoint["redis " + command_name(command)] += kCopies * calls;
    }
    std::map<std::string, const Json*> by_name;
    for (const Json& e : j["endpoints"].as_array()) {
        by_name[e["name"].as_string()] = &e;
    }
    CHECK(by_name.size() == per_endpoint.size());
    REQUIRE(by_name.count("redis GET") == 1);
    for (const auto& [name, e] : by_name) {
        INFO("endpoint " << name);
        REQUIRE(per_endpoint.count(name) == 1);
        CHECK((*e)["requests"].as_u64() == per_endpoint.at(name));
        CHECK((*e)["status_mismatch"].as_u64() == 0);
        CHECK((*e)["body_noise"].as_u64() == 0);
        // Every answer is compared: the recording holds each whole, and every byte of the
        // replayed ones reaches the replayer (socket reads; raw: intercept captures whole
        // packets on a quiet link and reports each).
        CHECK((*e)["body_compared"].as_u64() == (*e)["requests"].as_u64());
        CHECK((*e)["latency_recorded_us"]["count"].as_u64() > 0);
        CHECK((*e)["latency_replayed_us"]["count"].as_u64() > 0);
        // Only the GETs of k3 answer other bytes than recorded.
        CHECK((*e)["body_mismatch"].as_u64() ==
              (name == "redis GET" ? kCopies * kRecordedK3Gets : 0));
    }
    const Json& get = *by_name["redis GET"];
    CHECK(get["body_compared"].as_u64() > get["body_mismatch"].as_u64());
    CHECK(j["copies"].as_u64() == kCopies);
    CHECK(j["sessions"]["completed"].as_u64() == kCopies * kClients * kMix.size());
    CHECK(j["requests"]["not_sent"].as_u64() == 0);
    CHECK(j["responses"]["bytes_not_reported"].as_u64() == 0);
}

// A fresh redis on `host` holding the recorded data except k3; its commandstats before the
// replay.
std::map<std::string, uint64_t> start_target(NetnsLab& lab, const std::string& host,
                                             const std::string& addr) {
    start_redis(lab, host, addr, "redis-target");
    load_data(lab, host, addr, kChangedK3);
    return redis_command_calls(lab, host, addr);
}

const std::vector<std::string> kReplayArgs{
    "--copies", std::to_string(kCopies), "--speed", "max", "--timeout", "10s"};

}  // namespace

TEST_CASE_METHOD(NetnsLab,
                 "redis comparison over the socket transport flags exactly the GETs of the key "
                 "that holds another value",
                 "[e2e][compare][redis]") {
    const Recorded rec = record(*this);
    add_host("replayer");
    add_host("target");
    const Link& l = link("replayer", "target");
    const auto before = start_target(*this, "target", l.addr_b);
    const fs::path report = path("report.json");
    std::vector<std::string> argv{binary("tcpreplay2"),
                                  "--in",
                                  rec.archive.string(),
                                  "--target",
                                  l.addr_b + ":6379",
                                  "--transport",
                                  "socket",
                                  "--report",
                                  "json",
                                  report.string(),
                                  "-q"};
    argv.insert(argv.end(), kReplayArgs.begin(), kReplayArgs.end());
    const ReplayRun run = run_replayer(*this, "replayer", argv, report, 60s);
    check(run, rec, minus(redis_command_calls(*this, "target", l.addr_b), before));
}

TEST_CASE_METHOD(NetnsLab,
                 "redis comparison over the raw transport: intercept forwards the answers and the "
                 "same GETs are flagged",
                 "[e2e][compare][redis]") {
    const Recorded rec = record(*this);
    ReplayLab r = make_replay_lab(*this, Deployment::AssistantHost, {rec.client_addr}, 6379,
                                  LinkOptions(), false);
    const auto before = start_target(*this, "target", r.target_addr);
    start_intercept(*this, r);
    const ReplayRun run = replay(*this, r, rec.archive, kReplayArgs, 60s);
    check(run, rec, minus(redis_command_calls(*this, "target", r.target_addr), before));
}

}  // namespace tcpr::test
