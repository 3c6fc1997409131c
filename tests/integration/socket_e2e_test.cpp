// End-to-end tests of tcpreplay2 --transport socket (issue 5): no intercept, no forged packets,
// the replayer run as an unprivileged user. (1) The bundled sample, imported by the built
// tcprec, replayed with --copies 3 --speed 2x into nginx in another namespace: every recorded
// request reaches nginx three times, over the recorded sequence of requests per connection.
// (2) A second protocol: redis-benchmark traffic recorded by tcprec -p 6379, replayed with
// --copies 2 into a fresh redis-server, whose INFO commandstats then show exactly twice the
// recorded command counts. Root only (namespaces); they fail loudly without it.
#include <chrono>
#include <filesystem>
#include <map>
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

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A directory an unprivileged user can read and write (the lab's own dir is 0700): the
// replayer runs as `nobody` to show that socket replay needs no privileges.
fs::path public_dir(NetnsLab& lab) {
    fs::permissions(lab.dir(), fs::perms::others_exec, fs::perm_options::add);
    const fs::path pub = lab.path("pub");
    fs::create_directories(pub);
    fs::permissions(pub, fs::perms::all);
    return pub;
}

std::vector<std::string> as_nobody(std::vector<std::string> argv) {
    const std::string setpriv = NetnsLab::require_tool("setpriv",
                                                       "to run the replayer unprivileged "
                                                       "(package util-linux)");
    std::vector<std::string> full{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                  "--inh-caps=-all"};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

}  // namespace

TEST_CASE_METHOD(NetnsLab,
                 "socket replay of the sample: every request reaches nginx x3, no intercept, "
                 "no root",
                 "[e2e][socket]") {
    add_host("replayer");
    add_host("target");
    const Link& l = link("replayer", "target");
    const Nginx& nginx = start_nginx("target", l.addr_b, 80);

    const fs::path pub = public_dir(*this);
    const fs::path archive = pub / "http.pcap.zst";
    const fs::path sample = fs::path(TCPR_SOURCE_DIR) / "samples" / "http.pcap";
    const CommandResult imp =
        run("", {binary("tcprec"), "-r", sample.string(), "-o", archive.string(), "-q"}, 60s);
    {
        INFO(imp.describe());
        REQUIRE(imp.ok());
    }
    fs::permissions(archive, fs::perms::others_read, fs::perm_options::add);

    const fs::path report = pub / "report.json";
    const fs::path diff = pub / "diff.txt";
    // Only the replayer and the target: nothing captures, nothing forges; the replayer runs as
    // nobody.
    const auto start = std::chrono::steady_clock::now();
    const CommandResult r =
        run("replayer",
            as_nobody({binary("tcpreplay2"), "--in", archive.string(), "--target", l.addr_b + ":80",
                       "--transport", "socket", "--copies", "3", "--speed", "2x", "--timeout",
                       "10s", "--report", "json", report.string(), "--diff", diff.string(), "-q"}),
            60s);
    const auto took = std::chrono::steady_clock::now() - start;
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("via socket (one TCP connection per session)") != std::string::npos);
    // The sample spans 1.65 s: at 2x its schedule takes ~0.8 s.
    CHECK(took < 20s);

    // nginx saw every recorded request 3 times, each recorded connection 3 times over, all
    // from the replayer's own address (the recorded clients' addresses are not kept).
    const auto recorded_lines =
        split_lines(read_text(fs::path(TCPR_SOURCE_DIR) / "samples" / "http.access.log"));
    REQUIRE(recorded_lines.size() == 17);
    const auto replayed_lines = access_log_lines(nginx);
    CHECK(replayed_lines.size() == 3 * recorded_lines.size());
    std::map<std::string, size_t> recorded_requests, replayed_requests;
    for (const auto& line : recorded_lines) {
        ++recorded_requests[parse_log_line(line).request];
    }
    for (const auto& line : replayed_lines) {
        const LogEntry e = parse_log_line(line);
        CHECK(e.endpoint.rfind(l.addr_a + ":", 0) == 0);
        ++replayed_requests[e.request];
    }
    for (const auto& [request, n] : recorded_requests) {
        INFO("request " << request);
        CHECK(replayed_requests[request] == 3 * n);
    }
    CHECK(replayed_requests.size() == recorded_requests.size());
    auto recorded_sequences = sequence_counts(conversations(recorded_lines));
    const auto replayed_sequences = sequence_counts(conversations(replayed_lines));
    for (auto& [sequence, n] : recorded_sequences) {
        n *= 3;
    }
    CHECK(replayed_sequences == recorded_sequences);

    // The report: every session completed, every answer as recorded (same status line, same
    // length: the same files served by the same nginx configuration).
    const Json j = read_json(report);
    CHECK(j["transport"].as_string().rfind("socket", 0) == 0);
    CHECK(j["intercept"].as_string().empty());
    CHECK(j["sessions"]["planned"].as_u64() == 27);
    CHECK(j["sessions"]["completed"].as_u64() == 27);
    CHECK(j["sessions"]["reset_by_target"].as_u64() == 0);
    CHECK(j["sessions"]["timed_out"].as_u64() == 0);
    CHECK(j["status_lines"]["match"].as_u64() == 51);
    CHECK(j["status_lines"]["mismatch"].as_u64() == 0);
    CHECK(j["socket"]["length_equal"].as_u64() == 51);
    CHECK(j["socket"]["responses_differ"].as_u64() == 0);
    CHECK(j["failed"].as_bool() == false);
    const std::string d = read_text(diff);
    CHECK(d.find("# 0 responses differ from the recording\n") != std::string::npos);
}

TEST_CASE_METHOD(NetnsLab,
                 "redis-benchmark traffic replayed with --copies 2 doubles every command count "
                 "of a fresh redis",
                 "[e2e][socket]") {
    const std::string benchmark =
        require_tool("redis-benchmark", "as the Redis client (package redis-tools)");
    add_host("client");
    add_host("server");
    add_host("replayer");
    add_host("target");
    const Link& cs = link("client", "server");
    const Link& rt = link("replayer", "target");
    start_redis(*this, "server", cs.addr_b, "redis-recorded");

    // Record redis-benchmark's traffic at the server.
    const fs::path archive = path("redis.pcap.zst");
    Process& rec = spawn(
        "server", {binary("tcprec"), "-i", cs.if_b, "-p", "6379", "-q", "-o", archive.string()},
        "tcprec");
    const bool recording = wait_until(
        [&] { return fs::exists(archive.string() + ".partial") || !rec.running(); }, 10s);
    {
        INFO("tcprec did not start recording: " << rec.stderr_text());
        REQUIRE(recording);
        REQUIRE(rec.running());
    }
    constexpr uint64_t kRequests = 200;
    const CommandResult bench =
        run("client",
            {benchmark, "-h", cs.addr_b, "-p", "6379", "-n", std::to_string(kRequests), "-c", "4",
             "-t", "set,get,incr", "-P", "1", "-q"},
            60s);
    {
        INFO(bench.describe());
        REQUIRE(bench.ok());
    }
    std::this_thread::sleep_for(500ms);  // the capture's last block reaches tcprec
    rec.signal(SIGINT);
    const auto code = rec.wait(10s);
    {
        INFO("tcprec after SIGINT: " << rec.stderr_text());
        REQUIRE(code.has_value());
        REQUIRE(*code == 0);
    }

    // What the recorded server executed: -n requests of each -t test (plus redis-benchmark's
    // own CONFIG GET queries, which are recorded and replayed like the rest).
    const auto recorded = redis_command_calls(*this, "server", cs.addr_b);
    CHECK(recorded.at("set") == kRequests);
    CHECK(recorded.at("get") == kRequests);
    CHECK(recorded.at("incr") == kRequests);

    // Replay into a fresh redis, twice over, as nobody.
    start_redis(*this, "target", rt.addr_b, "redis-fresh");
    CHECK(redis_command_calls(*this, "target", rt.addr_b).empty());
    const fs::path pub = public_dir(*this);
    const fs::path copy = pub / "redis.pcap.zst";
    fs::copy_file(archive, copy);
    fs::permissions(copy, fs::perms::others_read, fs::perm_options::add);
    const fs::path report = pub / "report.json";
    const CommandResult r =
        run("replayer",
            as_nobody({binary("tcpreplay2"), "--in", copy.string(), "--target", rt.addr_b + ":6379",
                       "--transport", "socket", "--copies", "2", "--timeout", "10s", "--report",
                       "json", report.string(), "-q"}),
            120s);
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);

    const auto replayed = redis_command_calls(*this, "target", rt.addr_b);
    std::map<std::string, uint64_t> twice;
    for (const auto& [command, calls] : recorded) {
        twice[command] = 2 * calls;
    }
    CHECK(replayed == twice);

    const Json j = read_json(report);
    const uint64_t sessions = j["input_stats"]["sessions"].as_u64();
    CHECK(sessions >= 12);  // 4 connections per test, 3 tests, + the CONFIG GET connection(s)
    CHECK(j["sessions"]["completed"].as_u64() == 2 * sessions);
    CHECK(j["requests"]["not_sent"].as_u64() == 0);
    CHECK(j["requests"]["sent"].as_u64() >= 2 * 3 * kRequests);
}

}  // namespace tcpr::test
