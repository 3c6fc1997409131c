// End-to-end tests of the comparison per endpoint (issue 13, docs/replay.md "The comparison per
// endpoint"): the bundled sample replayed with --copies 3 into an nginx whose site differs from
// the recorded one in known ways (one path now answers 404, one file has the same length but
// other bytes, one path answers a new random id every time, the rest identical apart from
// Date/ETag/Last-Modified), over both transports: the report flags exactly the changed
// endpoints, sets the random one aside as noise, and no other. Root only (namespaces).
#include <chrono>
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

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The target's site differs from the recorded one in two known ways: /large is gone (404 where
// the recording has 200), / has the same length but other bytes. And /api/ping answers a new
// random id (same length) each time: its copies differ from each other, so its body
// differences are noise, not a regression. The rest is the same site, answering with other
// Date (and ETag, Last-Modified) headers than recorded, and /api/... answers carry a new
// header, X-Trace, whose value is new every time: their heads' copies differ (noise) and the
// report names the header.
void change_site(NetnsLab& lab, const Nginx& nginx) {
    fs::remove(nginx.prefix / "www" / "large");
    write_file(nginx.prefix / "www" / "index.html", std::string_view("<html>TCPR TEST</html>\n"));
    std::string conf = read_text(nginx.conf);
    const std::string api = "        location /api/ {";
    const size_t at = conf.find(api);
    REQUIRE(at != std::string::npos);
    conf.insert(at + api.size(), "\n            add_header X-Trace $request_id;");
    conf.insert(at,
                "        location = /api/ping {\n"
                "            default_type text/plain;\n"
                "            return 200 \"$request_id\\n\";\n"
                "        }\n");
    write_file(nginx.conf, conf);
    const CommandResult reload =
        lab.run("target",
                {"nginx", "-p", nginx.prefix.string(), "-c", nginx.conf.string(), "-e",
                 nginx.error_log.string(), "-s", "reload"},
                10s);
    INFO(reload.describe());
    REQUIRE(reload.ok());
    std::this_thread::sleep_for(500ms);  // the new workers take over
}

// What the report of a replay of the sample with --copies 3 into the changed site says.
void check_comparison(const Json& j, const std::string& summary) {
    // The summary ends with the worst endpoints: the one now answering 404 first.
    const size_t worst = summary.find("endpoints: ");
    REQUIRE(worst != std::string::npos);
    CHECK(summary.find("GET /large: 6 answers, 6 status mismatches", worst) != std::string::npos);

    std::map<std::string, const Json*> by_name;
    for (const Json& e : j["endpoints"].as_array()) {
        by_name[e["name"].as_string()] = &e;
    }
    // Every recorded request's endpoint, ids collapsed and queries dropped (the sample's POST
    // bodies follow their heads as requests of their own: "(continued)").
    CHECK(by_name.size() == 11);
    CHECK(by_name.count("POST /upload (continued)") == 1);
    REQUIRE(by_name.count("GET /large") == 1);
    REQUIRE(by_name.count("GET /") == 1);
    REQUIRE(by_name.count("GET /api/orders/{n}") == 1);
    REQUIRE(by_name.count("GET /api/users") == 1);
    CHECK(j["endpoints"][0]["name"].as_string() == "GET /large");
    const Json& large = *by_name["GET /large"];
    CHECK(large["requests"].as_u64() == 6);
    CHECK(large["status_mismatch"].as_u64() == 6);
    REQUIRE(by_name.count("GET /api/ping") == 1);
    const Json& ping = *by_name["GET /api/ping"];
    CHECK(ping["body_compared"].as_u64() == 3);
    CHECK(ping["body_noise"].as_u64() == 3);
    CHECK(ping["body_mismatch"].as_u64() == 0);
    const Json& index = *by_name["GET /"];
    CHECK(index["requests"].as_u64() == 3);
    CHECK(index["status_mismatch"].as_u64() == 0);
    CHECK(index["body_compared"].as_u64() == 3);
    CHECK(index["body_mismatch"].as_u64() == 3);
    // Headers: ETag and Last-Modified of the changed file differ, ignored by default; the 404's
    // headers differ (Content-Type, Content-Length is ignored); /api/ping now says text/plain.
    CHECK(index["header_compared"].as_u64() == 3);
    CHECK(index["header_mismatch"].as_u64() == 0);
    CHECK(large["header_mismatch"].as_u64() == 6);
    CHECK(ping["header_mismatch"].as_u64() == 3);
    // X-Trace differs between the copies of every /api/ answer: noise, named.
    const Json& users = *by_name["GET /api/users"];
    CHECK(users["header_compared"].as_u64() > 0);
    CHECK(users["header_noise"].as_u64() == users["header_compared"].as_u64());
    CHECK(users["header_mismatch"].as_u64() == 0);
    CHECK(j["noise"]["headers_differing_between_copies"]["x-trace"].as_u64() > 0);
    CHECK(j["noise"]["headers_differing_between_copies"].size() == 1);
    CHECK(j["noise"]["bodies_set_aside"].as_u64() == 3);
    CHECK(summary.find("headers differing between copies: x-trace") != std::string::npos);
    // An example of each kind of difference per changed endpoint, recorded and replayed.
    std::map<std::string, const Json*> examples;
    for (const Json& e : j["difference_examples"].as_array()) {
        examples[e["kind"].as_string() + " " + e["endpoint"].as_string()] = &e;
    }
    REQUIRE(examples.count("body GET /") == 1);
    CHECK((*examples["body GET /"])["request_head"].as_string().rfind("GET / HTTP/1.1", 0) == 0);
    CHECK((*examples["body GET /"])["replayed"].as_string().find("TCPR TEST") != std::string::npos);
    REQUIRE(examples.count("headers GET /large") == 1);
    CHECK((*examples["headers GET /large"])["replayed"].as_string().rfind("HTTP/1.1 404", 0) == 0);
    CHECK((*examples["headers GET /large"])["recorded"].as_string().rfind("HTTP/1.1 200", 0) == 0);
    CHECK(examples.count("body GET /api/ping") == 0);  // noise: no example
    for (const auto& [name, e] : by_name) {
        INFO("endpoint " << name);
        // Latency where the recording has one (nginx answers an upload before its body is in:
        // no latency from the body's last byte, on either side).
        if (name != "POST /upload (continued)") {
            CHECK((*e)["latency_recorded_us"]["count"].as_u64() > 0);
            CHECK((*e)["latency_replayed_us"]["count"].as_u64() > 0);
        }
        CHECK((*e)["latency_recorded_us"]["p99"].as_u64() >=
              (*e)["latency_recorded_us"]["p50"].as_u64());
        CHECK((*e)["latency_replayed_us"]["p99"].as_u64() >=
              (*e)["latency_replayed_us"]["p50"].as_u64());
        if (name == "GET /large" || name == "GET /" || name == "GET /api/ping") {
            continue;
        }
        // Unchanged: same status lines, bodies and headers (only Date and the like differ).
        CHECK((*e)["status_mismatch"].as_u64() == 0);
        CHECK((*e)["body_mismatch"].as_u64() == 0);
        CHECK((*e)["header_mismatch"].as_u64() == 0);
        CHECK((*e)["body_compared"].as_u64() == (*e)["requests"].as_u64());
    }
}

// --report requests: one JSON line per replayed answer, recorded vs replayed.
void check_requests(const fs::path& path, const Json& report) {
    const auto lines = split_lines(read_text(path));
    CHECK(lines.size() == report["responses"]["seen"].as_u64());
    std::map<std::string, uint64_t> body_differs, status_differs, body_same;
    for (const std::string& line : lines) {
        INFO(line);
        const Json j = Json::parse(line);
        const std::string name = j["endpoint"].as_string();
        body_differs[name] += j["body"].as_string() == "differs" ? 1 : 0;
        body_same[name] += j["body"].as_string() == "same" ? 1 : 0;
        status_differs[name] += j["status"].as_string() == "differs" ? 1 : 0;
        if (name == "GET /large") {
            CHECK(j["recorded"]["status"].as_string() == "HTTP/1.1 200 OK");
            CHECK(j["replayed"]["status"].as_string() == "HTTP/1.1 404 Not Found");
        }
        if (j["body"].as_string() != "unknown") {
            CHECK(j["replayed"]["first_us"].as_u64() <= j["replayed"]["last_us"].as_u64());
        }
    }
    CHECK(status_differs["GET /large"] == 6);
    CHECK(body_differs["GET /"] == 3);
    CHECK(body_differs["GET /api/ping"] == 3);  // per copy (the votes set them aside as noise)
    CHECK(body_same["GET /api/users"] > 0);
    CHECK(body_differs["GET /api/users"] == 0);
}

}  // namespace

TEST_CASE_METHOD(NetnsLab,
                 "comparison per endpoint over the socket transport flags exactly the endpoints "
                 "whose answers changed",
                 "[e2e][socket][compare]") {
    add_host("replayer");
    add_host("target");
    const Link& l = link("replayer", "target");
    const Nginx& nginx = start_nginx("target", l.addr_b, 80);
    change_site(*this, nginx);
    const Sample sample = import_sample(*this);
    const fs::path report = path("report.json");
    const fs::path requests = path("requests.jsonl");
    // tcpreplay2 --transport socket on the sample, with `more` arguments.
    auto replay_socket = [&](std::vector<std::string> more) {
        std::vector<std::string> argv{binary("tcpreplay2"),
                                      "--in",
                                      sample.archive.string(),
                                      "--target",
                                      l.addr_b + ":80",
                                      "--transport",
                                      "socket",
                                      "--copies",
                                      "3",
                                      "--speed",
                                      "max",
                                      "--timeout",
                                      "10s",
                                      "--report",
                                      "json",
                                      report.string(),
                                      "--max-failed",
                                      "100",
                                      "-q"};
        argv.insert(argv.end(), more.begin(), more.end());
        return run("replayer", argv, 60s);
    };
    const CommandResult r = replay_socket({"--report", "requests", requests.string()});
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    check_comparison(read_json(report), r.out);
    check_requests(requests, read_json(report));

    // The header the report named, ignored: the rest of those heads is compared again.
    const CommandResult again = replay_socket({"--ignore-header", "X-Trace"});
    INFO(again.describe());
    REQUIRE(again.exit_code == 0);
    const Json j = read_json(report);
    for (const Json& e : j["endpoints"].as_array()) {
        INFO("endpoint " << e["name"].as_string());
        CHECK(e["header_noise"].as_u64() == 0);
        if (e["name"].as_string() == "GET /api/users") {
            CHECK(e["header_compared"].as_u64() > 0);
            CHECK(e["header_mismatch"].as_u64() == 0);
        }
    }
    CHECK(j["noise"]["headers_differing_between_copies"].size() == 0);
}

TEST_CASE_METHOD(NetnsLab,
                 "comparison per endpoint over the raw transport: intercept forwards the answers' "
                 "payloads and flags the same endpoints",
                 "[e2e][raw][compare]") {
    const Sample sample = import_sample(*this);
    ReplayLab r = make_replay_lab(*this, Deployment::AssistantHost, sample.client_addresses,
                                  sample.server_port);
    change_site(*this, *r.nginx);
    start_intercept(*this, r);
    const ReplayRun run =
        replay(*this, r, sample.archive,
               {"--copies", "3", "--speed", "max", "--timeout", "10s", "--max-failed", "100"}, 60s);
    INFO(run.describe());
    REQUIRE(run.exit_code == 0);
    REQUIRE(run.json.has_value());
    check_comparison(*run.json, run.out);
}

}  // namespace tcpr::test
