// End-to-end test of tcpreplay2 --report html (issue 13): the bundled sample replayed over the
// socket transport into nginx whose site changed (/large gone, / other bytes of the same
// length), with --report html and --report json together; then the page opened offline in a
// real headless Chromium on the host. The DOM after the page's script ran has one endpoint row
// per endpoint of the JSON report, worst first, the latency plots and the script's mark; a
// load with "#sort=requests:asc" sorts through the headers' click handler; a screenshot is a
// PNG. Root only (namespaces); without root or Chromium it fails loudly.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/e2e_helpers.h"
#include "support/json_lite.h"
#include "support/netns_lab.h"
#include "support/temp_dir.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

std::string unescape(std::string s) {
    const std::pair<const char*, const char*> kEntities[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
    for (const auto& [entity, text] : kEntities) {
        for (size_t at = s.find(entity); at != std::string::npos; at = s.find(entity, at + 1)) {
            s.replace(at, std::string_view(entity).size(), text);
        }
    }
    return s;
}

// The value of attribute `attr` of every tag starting with `tag` ("<tr class=\"endpoint\""),
// unescaped, in document order ("" where the tag lacks it).
std::vector<std::string> attribute_of(const std::string& dom, const std::string& tag,
                                      const std::string& attr) {
    std::vector<std::string> out;
    for (size_t at = dom.find(tag); at != std::string::npos; at = dom.find(tag, at + 1)) {
        const size_t end = dom.find('>', at);
        const std::string head = dom.substr(at, end - at);
        const size_t v = head.find(" " + attr + "=\"");
        if (v == std::string::npos) {
            out.emplace_back();
            continue;
        }
        const size_t from = v + attr.size() + 3;
        out.push_back(unescape(head.substr(from, head.find('"', from) - from)));
    }
    return out;
}

// Headless Chromium on the host (no network namespace: file:// needs none), as root without
// its sandbox, with a profile of its own; fails the test loudly when it is missing or fails.
CommandResult chromium(const NetnsLab& lab, const std::string& profile,
                       const std::vector<std::string>& args) {
    const std::string exe = NetnsLab::require_tool(
        "chromium", "to load the HTML report in a real browser (package chromium)");
    std::vector<std::string> argv{exe,
                                  "--headless=new",
                                  "--no-sandbox",
                                  "--disable-gpu",
                                  "--no-first-run",
                                  "--user-data-dir=" + lab.path(profile).string(),
                                  "--virtual-time-budget=5000"};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult r = run_command(argv, 90s);
    INFO(r.describe());
    REQUIRE(r.ok());
    return r;
}

}  // namespace

TEST_CASE_METHOD(NetnsLab, "the html report of a real replay loads in a headless browser",
                 "[e2e][html]") {
    add_host("replayer");
    add_host("target");
    const Link& l = link("replayer", "target");
    const Nginx& nginx = start_nginx("target", l.addr_b, 80);
    fs::remove(nginx.prefix / "www" / "large");  // 404 where the recording has 200
    write_file(nginx.prefix / "www" / "index.html", std::string_view("<html>TCPR TEST</html>\n"));

    const fs::path archive = path("http.pcap.zst");
    const fs::path sample = fs::path(TCPR_SOURCE_DIR) / "samples" / "http.pcap";
    const CommandResult imp =
        run("", {binary("tcprec"), "-r", sample.string(), "-o", archive.string(), "-q"}, 60s);
    {
        INFO(imp.describe());
        REQUIRE(imp.ok());
    }
    const fs::path html = path("report.html"), json = path("report.json");
    const CommandResult r = run("replayer",
                                {binary("tcpreplay2"),
                                 "--in",
                                 archive.string(),
                                 "--target",
                                 l.addr_b + ":80",
                                 "--transport",
                                 "socket",
                                 "--copies",
                                 "2",
                                 "--speed",
                                 "max",
                                 "--timeout",
                                 "10s",
                                 "--report",
                                 "html",
                                 html.string(),
                                 "--report",
                                 "json",
                                 json.string(),
                                 "--max-failed",
                                 "100",
                                 "-q"},
                                60s);
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    const Json j = Json::parse(read_text(json));
    const std::vector<Json>& endpoints = j["endpoints"].as_array();
    REQUIRE(endpoints.size() >= 10);  // the sample's endpoints (socket_e2e_test.cpp: 11)
    const std::string page = read_text(html);
    REQUIRE_FALSE(page.empty());
    CHECK(page.find("<link") == std::string::npos);
    CHECK(page.find("src=\"http") == std::string::npos);

    const std::string url = "file://" + html.string();
    const CommandResult dump = chromium(*this, "chrome-1", {"--dump-dom", url});
    const std::string& dom = dump.out;
    INFO("DOM after load:\n" << dom.substr(0, 4000));
    // The script ran (sorted by rank, then marked the body).
    CHECK(dom.find("<body data-ready=\"1\"") != std::string::npos);
    CHECK(dom.find("data-sorted=\"rank:asc\"") != std::string::npos);
    // One row per endpoint of the JSON report, in its order (worst first).
    REQUIRE(count(dom, "<table id=\"endpoints\"") == 1);
    const auto names = attribute_of(dom, "<tr class=\"endpoint", "data-name");
    REQUIRE(names.size() == endpoints.size());
    for (size_t i = 0; i < names.size(); ++i) {
        CHECK(names[i] == endpoints[i]["name"].as_string());
    }
    CHECK(names.front() == "GET /large");
    // The plots: all endpoints merged, then each endpoint (all fit under the cap of 20).
    const auto plotted = attribute_of(dom, "<svg class=\"latency-plot\"", "data-endpoint");
    REQUIRE(plotted.size() == endpoints.size() + 1);
    CHECK(plotted.front() == "(all endpoints)");
    CHECK(count(dom, "<polyline class=\"recorded\"") >= endpoints.size() - 1);
    CHECK(count(dom, "<polyline class=\"replayed\"") >= endpoints.size() - 1);
    // The 404s, recorded and replayed side by side.
    CHECK(dom.find("<section class=\"examples\" data-kind=\"status\">") != std::string::npos);
    bool replayed_404 = false;
    for (size_t at = dom.find("<pre class=\"replayed\">"); at != std::string::npos;
         at = dom.find("<pre class=\"replayed\">", at + 1)) {
        replayed_404 =
            replayed_404 ||
            dom.substr(at, dom.find("</pre>", at) - at).find("404 Not Found") != std::string::npos;
    }
    CHECK(replayed_404);

    // Sorting by clicking a header: "#sort=requests:asc" clicks "Answers" twice (descending,
    // then ascending).
    const CommandResult sorted =
        chromium(*this, "chrome-2", {"--dump-dom", url + "#sort=requests:asc"});
    CHECK(sorted.out.find("data-sorted=\"requests:asc\"") != std::string::npos);
    std::vector<uint64_t> requests;
    for (const std::string& v : attribute_of(sorted.out, "<tr class=\"endpoint", "data-requests")) {
        requests.push_back(std::stoull(v));
    }
    CHECK(requests.size() == endpoints.size());
    CHECK(std::is_sorted(requests.begin(), requests.end()));
    CHECK(requests.front() < requests.back());

    // And it renders: a screenshot is a PNG.
    const fs::path png = path("report.png");
    chromium(*this, "chrome-3", {"--screenshot=" + png.string(), "--window-size=1280,2000", url});
    const std::string image = read_text(png);
    CHECK(image.size() > 10'000);
    CHECK(image.rfind("\x89PNG", 0) == 0);
}

}  // namespace tcpr::test
