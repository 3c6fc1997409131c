// Least privilege (docs/intercept-protocol.md, "Security"): intercept started as root becomes
// `nobody` with no capability once its capture and listening socket are open, and keeps
// serving; -Z root keeps root; an unknown -Z user is one usage line. The running process's
// uid, gid and capability sets are read from /proc. Root only (fails loudly without it).
#include <chrono>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "support/e2e_helpers.h"
#include "support/netns_lab.h"
#include "support/replay_lab.h"

namespace tcpr::test {
namespace {

using namespace std::chrono_literals;

// The "Name:\tvalue" lines of /proc/PID/status.
std::map<std::string, std::string> proc_status(pid_t pid) {
    std::map<std::string, std::string> m;
    for (const std::string& line :
         split_lines(read_text("/proc/" + std::to_string(pid) + "/status"))) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        m[line.substr(0, colon)] = value;
    }
    return m;
}

}  // namespace

TEST_CASE_METHOD(NetnsLab,
                 "intercept started as root runs as nobody with no capability once it listens",
                 "[e2e][privileges]") {
    add_host("assistant");
    add_host("replayer");
    const Link& l = link("replayer", "assistant");
    const bool keep_root = GENERATE(false, true);
    CAPTURE(keep_root);
    std::vector<std::string> argv{binary("intercept"),   "-i", l.if_b,   "-F",
                                  "tcp and src port 80", "-b", l.addr_b, "-q"};
    if (keep_root) {
        argv.insert(argv.end(), {"-Z", "root"});
    }
    Process& p = spawn("assistant", argv, "intercept");
    require_intercept_listening(p, l.addr_b, kInterceptPort);
    const auto st = proc_status(p.pid());
    INFO("/proc/" << p.pid() << "/status: Uid " << st.at("Uid") << ", CapEff " << st.at("CapEff"));
    if (keep_root) {
        CHECK(st.at("Uid").rfind("0\t", 0) == 0);
        return;
    }
    // Real, effective, saved and file-system uid and gid: nobody's.
    CHECK(st.at("Uid") == "65534\t65534\t65534\t65534");
    CHECK(st.at("Gid") == "65534\t65534\t65534\t65534");
    CHECK(st.at("Groups").empty());
    CHECK(st.at("CapEff") == "0000000000000000");
    CHECK(st.at("CapPrm") == "0000000000000000");
    CHECK(st.at("CapInh") == "0000000000000000");
    CHECK(st.at("CapAmb") == "0000000000000000");
    CHECK(st.at("NoNewPrivs") == "1");
    // Still serving: a replayer's connection is accepted (a sample replay through an intercept
    // that dropped its privileges is every replay e2e test).
    const CommandResult r = run(
        "replayer",
        {"bash", "-c", "exec 3<>/dev/tcp/" + l.addr_b + "/" + std::to_string(kInterceptPort)}, 10s);
    INFO(r.describe());
    CHECK(r.ok());
    CHECK(p.running());
}

TEST_CASE_METHOD(NetnsLab, "intercept -Z with an unknown user is one usage line",
                 "[e2e][privileges]") {
    add_host("assistant");
    add_host("replayer");
    const Link& l = link("replayer", "assistant");
    const CommandResult r =
        run("assistant",
            {binary("intercept"), "-i", l.if_b, "-b", l.addr_b, "-Z", "no-such-user-x"}, 10s);
    INFO(r.describe());
    CHECK(r.exit_code == 2);
    CHECK(r.err ==
          "intercept: error: -Z no-such-user-x: no such user on this host (give -Z root "
          "to keep running as root)\n");
}

}  // namespace tcpr::test
