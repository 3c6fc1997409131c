// Runs the built tcpreplay2 --merge-reports on shard reports written by format_json (as replayers
// write them) and checks the merged report, the HTML page, the exit codes and the exact one-line
// errors. Needs no root and no network: only files, in a fresh temp dir with relative names.
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "replayer/report/report.h"
#include "support/json_lite.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using replay::RunSummary;

std::string tcpreplay2() {
    const fs::path p = fs::path(TCPR_BINARY_DIR) / "src" / "tcpreplay2";
    INFO("the tcpreplay2 binary is not built at " << p);
    REQUIRE(fs::exists(p));
    return p.string();
}

std::span<const uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A shard's report: `requests` answers of "GET /a" and of `endpoint`, replayed `ms` ms late.
RunSummary shard(uint64_t requests, const std::string& endpoint, uint32_t ms, uint64_t wall_ns) {
    RunSummary s;
    s.input = "mon.pcap.zst";
    s.format = "archive";
    s.target = "10.0.0.2:80";
    s.intercept = "10.0.0.3:36524";
    s.transport = "raw (IP_HDRINCL socket)";
    s.wall_ns = wall_ns;
    s.recorded_ns = 10'000'000'000;
    s.counters.sessions_planned = s.counters.sessions_started = requests;
    s.counters.sessions_completed = requests;
    s.counters.requests_sent = requests;
    s.counters.responses_seen = requests;
    s.counters.status_match = requests;
    replay::EndpointTable& t = s.counters.endpoints;
    for (const std::string& name : {std::string("GET /a"), endpoint}) {
        const uint32_t id = t.id_of(bytes(name + " HTTP/1.1\r\n\r\n"));
        for (uint64_t i = 0; i < requests; ++i) {
            replay::RecordedRequest r;
            r.answer_first_us = 1000;
            r.answer_last_us = 2000;
            t.record(id, r, false, ms * 1000, ms * 1000 + 500);
            t.body_verdict(id, 1, 0, 0);
        }
    }
    return s;
}

class MergeDir {
  public:
    MergeDir() : dir_("tcpr-merge-cli") {}

    void write(const std::string& name, const std::string& text) const {
        write_file(dir_ / name, text);
    }
    void write(const std::string& name, const RunSummary& s) const {
        write(name, replay::format_json(s));
    }
    bool exists(const std::string& name) const { return fs::exists(dir_ / name); }
    std::string read(const std::string& name) const {
        const auto b = read_file(dir_ / name);
        return std::string(b.begin(), b.end());
    }

    CommandResult run(const std::vector<std::string>& args) const {
        std::vector<std::string> argv{tcpreplay2()};
        argv.insert(argv.end(), args.begin(), args.end());
        CommandResult r = run_command(argv, 60s, dir_.path().string());
        REQUIRE_FALSE(r.timed_out);
        return r;
    }

  private:
    TempDir dir_;
};

// A refused merge: the exit code, exactly one stderr line, nothing on stdout, no output file.
void check_error(const MergeDir& dir, const CommandResult& r, int exit_code,
                 const std::string& message) {
    INFO(r.describe());
    CHECK(r.exit_code == exit_code);
    CHECK(r.err == "tcpreplay2: error: " + message + "\n");
    CHECK(r.out.empty());
    CHECK_FALSE(dir.exists("out.json"));
}

}  // namespace

TEST_CASE("merge-reports writes the merged JSON and HTML and prints the merged summary",
          "[cli][merge]") {
    MergeDir dir;
    dir.write("s1.json", shard(10, "GET /b", 3, 5'000'000'000));
    dir.write("s2.json", shard(30, "GET /c", 7, 6'000'000'000));
    dir.write("s3.json", shard(5, "GET /b", 5, 4'000'000'000));
    const CommandResult r = dir.run({"--merge-reports", "out.json", "s1.json", "s2.json", "s3.json",
                                     "--report", "html", "out.html"});
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK_THAT(r.out, Catch::Contains("merged from 3 shard reports: s1.json s2.json s3.json"));
    CHECK_THAT(r.out, Catch::Contains("requests: 45 sent"));

    const Json j = Json::parse(dir.read("out.json"));
    CHECK(j["merged_reports"].as_u64() == 3);
    CHECK(j["merged_from"].size() == 3);
    CHECK(j["merged_from"][2].as_string() == "s3.json");
    CHECK(j["requests"]["sent"].as_u64() == 45);
    CHECK(j["sessions"]["completed"].as_u64() == 45);
    CHECK(j["wall_ns"].as_u64() == 6'000'000'000);
    CHECK(j["endpoints"].size() == 3);
    for (const Json& e : j["endpoints"].as_array()) {
        const std::string name = e["name"].as_string();
        const uint64_t n = name == "GET /a" ? 45 : name == "GET /b" ? 15 : 30;
        CHECK(e["requests"].as_u64() == n);
        CHECK(e["latency_replayed_us"]["count"].as_u64() == n);
    }
    // Percentiles of the union: 30 of 45 "GET /a" answers took 7 ms.
    const Json& a = j["endpoints"][0];
    REQUIRE(a["name"].as_string() == "GET /a");
    CHECK(a["latency_replayed_us"]["p50"].as_u64() > 6'500);
    CHECK(a["latency_replayed_us"]["min"].as_u64() == 3'000);

    const std::string html = dir.read("out.html");
    CHECK_THAT(html, Catch::Contains("id=\"requests\">Requests sent<b>45</b>"));
    CHECK_THAT(html, Catch::Contains("data-name=\"GET /b\" data-rank=\"3\" data-requests=\"15\""));

    // The merged report merges again, with the rest: the same numbers.
    dir.write("s4.json", shard(1, "GET /d", 1, 1'000'000'000));
    const CommandResult again = dir.run({"--merge-reports", "all.json", "out.json", "s4.json"});
    INFO(again.describe());
    REQUIRE(again.exit_code == 0);
    const Json all = Json::parse(dir.read("all.json"));
    CHECK(all["merged_reports"].as_u64() == 4);
    CHECK(all["requests"]["sent"].as_u64() == 46);
}

TEST_CASE("merge-reports warns about shards of another run and merges them", "[cli][merge]") {
    MergeDir dir;
    RunSummary other = shard(2, "GET /b", 3, 1);
    other.target = "10.0.0.9:80";
    dir.write("s1.json", shard(1, "GET /b", 3, 1));
    dir.write("s2.json", other);
    const CommandResult r = dir.run({"--merge-reports", "out.json", "s1.json", "s2.json"});
    INFO(r.describe());
    CHECK(r.exit_code == 0);
    CHECK(r.err ==
          "tcpreplay2: warn: 's2.json' is of another run than 's1.json': target '10.0.0.9:80', "
          "not '10.0.0.2:80' (merged all the same)\n");
    CHECK(Json::parse(dir.read("out.json"))["requests"]["sent"].as_u64() == 3);
}

TEST_CASE("merge-reports exits 3 when the merged sessions failed beyond --max-failed",
          "[cli][merge]") {
    MergeDir dir;
    RunSummary bad = shard(10, "GET /b", 3, 1);
    bad.counters.sessions_completed = 5;
    bad.counters.sessions_reset = 5;
    dir.write("s1.json", shard(10, "GET /b", 3, 1));
    dir.write("s2.json", bad);
    const CommandResult r = dir.run({"--merge-reports", "out.json", "s1.json", "s2.json"});
    INFO(r.describe());
    CHECK(r.exit_code == 3);
    CHECK(Json::parse(dir.read("out.json"))["failed"].as_bool());
}

TEST_CASE("merge-reports refuses bad inputs and outputs with one line", "[cli][merge]") {
    MergeDir dir;
    dir.write("s1.json", shard(1, "GET /b", 3, 1));
    dir.write("bad.json", "{\"input\": \"x\",");
    dir.write("other.json", "{\"tool\": \"something else\"}\n");
    const std::string live = replay::format_json(shard(1, "GET /b", 3, 1));
    dir.write("live.json", live.substr(0, live.rfind("\n}")) + ",\n  \"live\": {}\n}\n");

    SECTION("no input report") {
        check_error(dir, dir.run({"--merge-reports", "out.json"}), 2,
                    "--merge-reports takes the output, then at least one shard report: "
                    "--merge-reports OUT.json IN.json...");
    }
    SECTION("invalid JSON") {
        check_error(dir, dir.run({"--merge-reports", "out.json", "s1.json", "bad.json"}), 1,
                    "'bad.json' is not a tcpreplay2 JSON report: invalid JSON at byte 15");
    }
    SECTION("JSON that is not a report") {
        check_error(dir, dir.run({"--merge-reports", "out.json", "other.json"}), 1,
                    "'other.json' is not a tcpreplay2 JSON report: input is missing");
    }
    SECTION("a missing input") {
        check_error(dir, dir.run({"--merge-reports", "out.json", "s1.json", "missing.json"}), 1,
                    "cannot open 'missing.json': No such file or directory");
    }
    SECTION("a live passthrough report") {
        check_error(dir, dir.run({"--merge-reports", "out.json", "s1.json", "live.json"}), 1,
                    "'live.json' is a live passthrough report: only archive replay reports merge");
    }
    SECTION("the output in a directory that does not exist") {
        const CommandResult r =
            dir.run({"--merge-reports", "nodir/out.json", "s1.json", "missing.json"});
        check_error(dir, r, 1,
                    "cannot write 'nodir/out.json' (--merge-reports): no directory 'nodir'");
    }
    SECTION("the output is an input") {
        check_error(dir, dir.run({"--merge-reports", "s1.json", "s1.json", "bad.json"}), 2,
                    "--merge-reports: the output 's1.json' is also an input: give another name");
        CHECK(dir.read("s1.json") == replay::format_json(shard(1, "GET /b", 3, 1)));
    }
    SECTION("an input given twice") {
        check_error(dir, dir.run({"--merge-reports", "out.json", "s1.json", "./s1.json"}), 2,
                    "--merge-reports: './s1.json' is given twice (its counts would add twice)");
    }
    SECTION("with a replay option") {
        check_error(
            dir, dir.run({"--merge-reports", "out.json", "s1.json", "--target", "10.0.0.2:80"}), 2,
            "--merge-reports replays nothing: it cannot go with --target (give only OUT, "
            "the reports and --report html)");
    }
    SECTION("with --report json") {
        check_error(
            dir, dir.run({"--merge-reports", "out.json", "s1.json", "--report", "json", "x.json"}),
            2,
            "--merge-reports writes its JSON report to OUT: only --report html FILE goes "
            "with it");
    }
}

}  // namespace tcpr::test
