// Least privilege (docs/install.md, "Least privilege"): intercept, tcpreplay2 and tcprec started
// as root become `nobody` with no capability once their capture, packet sender and listening
// sockets are open, and keep working; what they write afterwards is nobody's; an output nobody
// cannot write stops a replay before anything is sent; -Z root keeps root; an unknown -Z user
// is one usage line. The running process's uid, gid and capability sets are read from /proc.
// (The live copy's and tcprec's checks are in live_e2e_test.cpp and recorder_e2e_test.cpp.)
// Root only (fails loudly without it).
#include <algorithm>
#include <chrono>
#include <dirent.h>
#include <filesystem>
#include <map>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <catch2/catch.hpp>

#include "support/e2e_helpers.h"
#include "support/netns_lab.h"
#include "support/replay_lab.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Processes named `comm` whose command line holds `word`.
std::vector<pid_t> pids_of(const std::string& comm, const std::string& word) {
    std::vector<pid_t> pids;
    DIR* d = ::opendir("/proc");
    REQUIRE(d != nullptr);
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) {
            continue;
        }
        const std::string c = read_text("/proc/" + name + "/comm");
        std::string cmdline = read_text("/proc/" + name + "/cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (c == comm + "\n" && cmdline.find(word) != std::string::npos) {
            pids.push_back(static_cast<pid_t>(std::stol(name)));
        }
    }
    ::closedir(d);
    return pids;
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
    if (keep_root) {
        CHECK(proc_status(p.pid()).at("Uid").rfind("0\t", 0) == 0);
        return;
    }
    check_runs_as_nobody(p.pid());
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

namespace tcpr::test {

TEST_CASE_METHOD(NetnsLab,
                 "tcpreplay2 started as root replays as nobody, and stops before sending when "
                 "nobody cannot write its report",
                 "[e2e][privileges]") {
    const Sample sample = import_sample(*this);
    ReplayLab r = make_replay_lab(*this, Deployment::AssistantHost, sample.client_addresses,
                                  sample.server_port);
    start_intercept(*this, r);

    // Dropped once its raw socket, intercept connection and input are open; it still replays
    // every session, and its report is nobody's.
    size_t seen = 0;
    const auto while_running = [&] {
        const std::vector<pid_t> pids = pids_of("tcpreplay2", dir().string());
        seen = pids.size();
        for (const pid_t pid : pids) {
            check_runs_as_nobody(pid);
        }
    };
    const ReplayRun run =
        replay(*this, r, sample.archive, {"--speed", "0.5x"}, 60s, while_running, 150ms);
    INFO(run.describe());
    REQUIRE(run.exit_code == std::optional<int>(0));
    REQUIRE(run.json);
    CHECK((*run.json)["sessions"]["completed"].as_u64() == sample.sessions);
    CHECK(seen == 1);
    check_owned_by_nobody(run.report);
    const size_t served = access_log(*this, *r.nginx, sample.http_requests).size();
    CHECK(served == sample.http_requests);

    // A directory only root can write: one line naming nobody and -Z, nothing sent.
    const fs::path locked = path("root-only");
    fs::create_directories(locked);
    fs::permissions(locked, fs::perms::owner_all, fs::perm_options::replace);
    const std::vector<std::string> argv{binary("tcpreplay2"),
                                        "--in",
                                        sample.archive.string(),
                                        "--target",
                                        r.target,
                                        "--intercept",
                                        r.intercept_addr,
                                        "-q",
                                        "--report",
                                        "json",
                                        (locked / "r.json").string()};
    const CommandResult denied = this->run("replayer", argv, 60s);
    {
        INFO(denied.describe());
        CHECK(denied.exit_code == 1);
        CHECK(std::count(denied.err.begin(), denied.err.end(), '\n') == 1);
        CHECK(denied.err.find("cannot write '" + (locked / "r.json").string() + "'") !=
              std::string::npos);
        CHECK(denied.err.find("(as nobody, -Z: give -Z root") != std::string::npos);
    }
    CHECK(access_log(*this, *r.nginx, served + 1).size() == served);  // nothing was sent
    CHECK_FALSE(fs::exists(locked / "r.json"));

    // -Z root keeps root, and writes there.
    std::vector<std::string> as_root = argv;
    as_root.insert(as_root.end(), {"-Z", "root"});
    const CommandResult kept = this->run("replayer", as_root, 60s);
    INFO(kept.describe());
    CHECK(kept.exit_code == 0);
    CHECK(fs::exists(locked / "r.json"));
}

}  // namespace tcpr::test
