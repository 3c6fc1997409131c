// What a user trips over, through the built programs: a --target that is no address is a usage
// error, not a DNS lookup; every output file of a replay is checked before anything is sent
// (a long run's result is never lost to a typo); intercept -p 0 is refused, not taken as the
// default port. Each is one line on stderr and its exit code. No root, no network.
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string program(const std::string& name) {
    const fs::path p = fs::path(TCPR_BINARY_DIR) / "src" / name;
    INFO("not built: " << p);
    REQUIRE(fs::exists(p));
    return p.string();
}

const std::string kSample = (fs::path(TCPR_SOURCE_DIR) / "samples" / "http.pcap").string();

void check_refused(const std::vector<std::string>& argv, int exit_code, const std::string& line) {
    const CommandResult r = run_command(argv, 30s);
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == exit_code);
    CHECK(r.err == line + "\n");
}

}  // namespace

TEST_CASE("a target of digits and dots that is no IPv4 address is a usage error, not a lookup",
          "[cli][usage]") {
    for (const std::string target : {"999.1.1.1:80", "10.1.1:80", "1.2.3.4.5:80"}) {
        check_refused(
            {program("tcpreplay2"), "--in", kSample, "--target", target, "--transport", "socket"},
            2,
            "tcpreplay2: error: bad value '" + target + "' for --target: '" +
                target.substr(0, target.rfind(':')) + "' is not an IPv4 address");
    }
}

TEST_CASE("every output file of a replay is checked before anything is sent", "[cli][usage]") {
    TempDir dir("tcpr-usage");
    const std::string missing = (dir / "nodir").string();
    // The target is a closed port of loopback: were anything sent, the error would differ.
    const std::vector<std::string> base{program("tcpreplay2"), "--in",        kSample, "--target",
                                        "127.0.0.1:9",         "--transport", "socket"};
    const auto with = [&](std::vector<std::string> more) {
        std::vector<std::string> argv = base;
        argv.insert(argv.end(), more.begin(), more.end());
        return argv;
    };
    check_refused(with({"--report", "json", missing + "/r.json"}), 1,
                  "tcpreplay2: error: cannot write '" + missing +
                      "/r.json' (--report json): no directory '" + missing + "'");
    check_refused(with({"--report", "html", missing + "/r.html"}), 1,
                  "tcpreplay2: error: cannot write '" + missing +
                      "/r.html' (--report html): no directory '" + missing + "'");
    check_refused(with({"--diff", missing + "/d.txt"}), 1,
                  "tcpreplay2: error: cannot write '" + missing +
                      "/d.txt' (--diff): no directory '" + missing + "'");
    // A directory given as the report file.
    check_refused(with({"--report", "json", dir.path().string()}), 1,
                  "tcpreplay2: error: cannot write '" + dir.path().string() +
                      "' (--report json): it is a directory");
    CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("intercept -p 0 is refused, not taken as the default port", "[cli][usage]") {
    const CommandResult r = run_command({program("intercept"), "-p", "0"}, 10s);
    INFO(r.describe());
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--port: Value 0 not in range 1 to 65535") != std::string::npos);
}

}  // namespace tcpr::test
