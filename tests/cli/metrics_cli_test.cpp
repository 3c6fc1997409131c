// --metrics through the built programs: a bad value is one usage line (exit 2), a port in use
// one error line at start (exit 1). No root, no network beyond loopback.
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/os/metrics_server.h"
#include "support/subprocess.h"

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

TEST_CASE("a bad --metrics value is one usage line", "[cli][usage][metrics]") {
    for (const std::string bad : {"127.0.0.1", "127.0.0.1:0", "localhost:9464", "1.2.3.4:x"}) {
        CAPTURE(bad);
        const std::string why =
            "bad value '" + bad + "' for --metrics (expected ADDR:PORT such as 127.0.0.1:9464)";
        check_refused({program("tcpreplay2"), "--in", kSample, "--target", "127.0.0.1:9",
                       "--transport", "socket", "--metrics", bad},
                      2, "tcpreplay2: error: " + why);
        check_refused({program("intercept"), "-i", "lo", "--metrics", bad}, 2,
                      "intercept: error: " + why);
    }
}

TEST_CASE("a --metrics port in use is one error line before the replay", "[cli][metrics]") {
    const net::Endpoint loopback{net::IpAddress::v4(0x7f000001), 0};
    os::MetricsServer holder(loopback, [] { return std::string(); });
    const std::string at = holder.local_endpoint().to_string();
    check_refused({program("tcpreplay2"), "--in", kSample, "--target", "127.0.0.1:9", "--transport",
                   "socket", "--metrics", at},
                  1, "tcpreplay2: error: cannot listen on " + at + ": Address already in use");
}

}  // namespace tcpr::test
