// The Debian package on a clean Debian 12 (docs/install.md): apt installs it into a minimal root
// made by debootstrap from this machine's Debian mirror, so its Depends must name every package
// the programs need; the programs, man pages and units are where the package puts them; the
// units, started by a real systemd (the root booted with systemd-nspawn), run as a non-root
// dynamic user holding only CAP_NET_RAW, log to the journal and come back after a crash; the
// package purges. Needs root, debootstrap, systemd-nspawn and the mirror: fails loudly without.
#include <chrono>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "support/debian_root.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Program {
    std::string path;  // in the package
    std::string man_page;
};

const std::vector<Program> kPrograms{{"/usr/bin/tcprec", "/usr/share/man/man1/tcprec.1"},
                                     {"/usr/bin/tcpreplay2", "/usr/share/man/man1/tcpreplay2.1"},
                                     {"/usr/sbin/intercept", "/usr/share/man/man8/intercept.8"}};

const std::vector<std::string> kUnits{"/usr/lib/systemd/system/intercept.service",
                                      "/usr/lib/systemd/system/intercept@.service",
                                      "/usr/lib/systemd/system/tcpreplay2-live@.service"};

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

void require_ok(const CommandResult& r) {
    INFO(r.describe());
    REQUIRE(r.ok());
}

void check_ok(const CommandResult& r) {
    INFO(r.describe());
    CHECK(r.ok());
}

// Root, the tools, and this machine's Debian mirror (returned), or the test fails here.
std::string require_tools_and_mirror() {
    {
        INFO("debootstrap, chroot and systemd-nspawn need root");
        REQUIRE(geteuid() == 0);
    }
    for (const char* tool : {"debootstrap", "systemd-nspawn", "nsenter", "unshare", "chroot"}) {
        INFO(tool << " is needed (scripts/install-deps: debootstrap, systemd-container)");
        REQUIRE(run_command({"sh", "-c", std::string("command -v ") + tool}, 10s).ok());
    }
    const std::string mirror = debian_mirror();
    INFO("no 'deb' entry for bookworm in /etc/apt/sources.list or /etc/apt/sources.list.d/");
    REQUIRE(!mirror.empty());
    return mirror;
}

bool installed(const DebianRoot& root, const std::string& package) {
    return root.run({"dpkg-query", "-W", "-f=${Status}", package}).out == "install ok installed";
}

// `systemctl show -p PROPERTY --value UNIT` inside the booted root.
std::string unit_property(const BootedRoot& sys, const std::string& unit,
                          const std::string& property) {
    const CommandResult r = sys.run({"systemctl", "show", "-p", property, "--value", unit});
    INFO(r.describe());
    REQUIRE(r.ok());
    return trimmed(r.out);
}

std::string journal(const BootedRoot& sys, const std::string& unit) {
    return sys.run({"journalctl", "--no-pager", "-o", "cat", "-u", unit}).out;
}

// Polls the unit's journal every 200 ms until it holds `text` `count` times or `timeout` passed.
bool wait_for_journal(const BootedRoot& sys, const std::string& unit, const std::string& text,
                      std::chrono::milliseconds timeout, size_t count = 1) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const std::string j = journal(sys, unit);
        size_t n = 0;
        for (size_t at = j.find(text); at != std::string::npos; at = j.find(text, at + 1)) {
            ++n;
        }
        if (n >= count) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(200ms);
    }
}

// What systemctl status and the journal say, for failure messages.
std::string unit_report(const BootedRoot& sys, const std::string& unit) {
    return sys.run({"systemctl", "status", "--no-pager", "-l", unit}).out + "--- journal ---\n" +
           journal(sys, unit);
}

void start_unit(const BootedRoot& sys, const std::string& unit) {
    const CommandResult r = sys.run({"systemctl", "start", unit});
    INFO(r.describe() << unit_report(sys, unit));
    REQUIRE(r.ok());
}

// The unit's main process, as the booted root's /proc/PID/status tells: the executable, not
// root (real, effective, saved and file-system uid alike), CAP_NET_RAW and nothing else in its
// permitted, effective, bounding and ambient sets, no new privileges. Returns its pid.
long check_main_process(const BootedRoot& sys, const std::string& unit,
                        const std::string& program) {
    CAPTURE(unit);
    INFO(unit_report(sys, unit));
    CHECK(unit_property(sys, unit, "ActiveState") == "active");
    const long pid = std::stol(unit_property(sys, unit, "MainPID"));
    REQUIRE(pid > 0);
    const std::string proc = "/proc/" + std::to_string(pid);
    CHECK(trimmed(sys.run({"readlink", proc + "/exe"}).out) == program);
    const CommandResult status = sys.run({"cat", proc + "/status"});
    INFO(status.describe());
    REQUIRE(status.ok());
    std::smatch m;
    REQUIRE(
        std::regex_search(status.out, m, std::regex(R"(\nUid:\t(\d+)\t(\d+)\t(\d+)\t(\d+)\n)")));
    CHECK(m[1].str() != "0");
    CHECK((m[2] == m[1] && m[3] == m[1] && m[4] == m[1]));
    // The unit grants CAP_NET_RAW alone (0x2000 = 1 << 13: the bounding set keeps it); the
    // program gave it up once its capture and sockets were open: nothing is left in use.
    CHECK(status.out.find("\nCapBnd:\t0000000000002000\n") != std::string::npos);
    for (const char* set : {"CapPrm", "CapEff", "CapAmb"}) {
        INFO(set);
        CHECK(status.out.find(std::string("\n") + set + ":\t0000000000000000\n") !=
              std::string::npos);
    }
    CHECK(status.out.find("\nNoNewPrivs:\t1\n") != std::string::npos);
    return pid;
}

TEST_CASE("the Debian mirror is read from one-line and deb822 apt sources", "[package]") {
    const std::string deb822 =
        "Types: deb deb-src\n"
        "URIs: http://security.example/debian-security\n"
        "Suites: bookworm-security\n"
        "Components: main\n"
        "\n"
        "# a comment\n"
        "Types: deb\n"
        "URIs: http://off.example/debian\n"
        "Suites: bookworm\n"
        "Enabled: no\n"
        "\n"
        "Types: deb\n"
        "URIs: http://mirror.example/debian\n"
        "Suites: bookworm bookworm-updates\n";
    CHECK(debian_mirror_from({}, {deb822}) == "http://mirror.example/debian");
    CHECK(debian_mirror_from({"deb [signed-by=/k.gpg] http://one.example/debian bookworm main\n"},
                             {deb822}) == "http://one.example/debian");
    CHECK(debian_mirror_from({"# deb http://old.example/debian bookworm main\n"
                              "deb https://other.example/apt cloud-sdk-bookworm main\n"},
                             {}) == "");
    CHECK(debian_mirror_from({}, {"Types: deb\nURIs: http://last.example/debian\n"
                                  "Suites: bookworm"}) == "http://last.example/debian");
}

TEST_CASE(
    "apt installs the package into a clean Debian 12 root, systemd runs its units there and the "
    "package purges",
    "[root]") {
    const std::string mirror = require_tools_and_mirror();
    CAPTURE(mirror);
    TempDir tmp("tcpr-root");
    const fs::path deb = make_deb(tmp / "out");
    DebianRoot root;

    // minbase: the Essential packages and apt, nothing else (no libpcap, no re2, no systemd).
    require_ok(run_command(
        {"debootstrap", "--variant=minbase", "bookworm", root.path().string(), mirror}, 900s));
    for (const char* absent : {"libpcap0.8", "libre2-9", "systemd"}) {
        CAPTURE(absent);
        CHECK(!installed(root, absent));
    }

    // apt installs the package and, from the mirror, what its Depends name.
    fs::copy_file(deb, root.path() / "tmp" / deb.filename());
    require_ok(root.run({"apt-get", "update", "-q", "-o", "Acquire::Languages=none"}, 300s));
    require_ok(root.run({"apt-get", "install", "-y", "-q", "--no-install-recommends",
                         "/tmp/" + deb.filename().string()},
                        300s));
    for (const char* dep : {"tcpr", "libpcap0.8", "libre2-9"}) {
        CAPTURE(dep);
        CHECK(installed(root, dep));
    }

    // Each program runs with what the Depends brought; it, its man page and the units are
    // installed files of the package.
    const CommandResult listed = root.run({"dpkg", "-L", "tcpr"});
    require_ok(listed);
    const std::string files = "\n" + listed.out;
    for (const auto& p : kPrograms) {
        CAPTURE(p.path);
        const CommandResult v = root.run({p.path, "--version"});
        check_ok(v);
        CHECK(v.out == fs::path(p.path).filename().string() + " " + TCPR_VERSION + "\n");
        for (const auto& f : {p.path, p.man_page}) {
            CAPTURE(f);
            CHECK(files.find("\n" + f + "\n") != std::string::npos);
            CHECK(fs::is_regular_file(root.path() / f.substr(1)));
        }
    }
    for (const auto& u : kUnits) {
        CAPTURE(u);
        CHECK(files.find("\n" + u + "\n") != std::string::npos);
        CHECK(fs::is_regular_file(root.path() / u.substr(1)));
    }

    // A real systemd, as any Debian 12 host has it, from the mirror.
    require_ok(root.run(
        {"apt-get", "install", "-y", "-q", "--no-install-recommends", "systemd", "dbus"}, 300s));
    // intercept@lo listens on loopback only; tcpreplay2-live@lo captures on lo, reaches that
    // intercept and records into its state directory (docs/install.md).
    write_file(root.path() / "etc/default/intercept-lo", "INTERCEPT_OPTS=-b 127.0.0.1\n");
    write_file(root.path() / "etc/default/tcpreplay2-live-lo",
               "TCPREPLAY2_ARGS=-i lo -p 80 --target 127.0.0.1:8080 --intercept 127.0.0.1 "
               "--record live.pcap.zst\n");
    {
        BootedRoot sys(root, "tcpr-test-" + std::to_string(getpid()), tmp / "console.log");
        {
            const CommandResult state = sys.run({"systemctl", "is-system-running"});
            INFO(state.describe() << sys.run({"systemctl", "--failed", "--no-pager"}).out
                                  << "--- console ---\n"
                                  << sys.console());
            CHECK(state.out == "running\n");
        }

        // The unit's default filter, the address from its EnvironmentFile; its start line goes
        // to the journal (stderr, no -d).
        const std::string icpt = "intercept@lo.service";
        const std::string started =
            "capturing on live lo filter '(tcp) and not tcp port 36524'; listening for "
            "replayers on 127.0.0.1:36524";
        start_unit(sys, icpt);
        CHECK(wait_for_journal(sys, icpt, started, 10s));
        const long first = check_main_process(sys, icpt, "/usr/sbin/intercept");

        const std::string live = "tcpreplay2-live@lo.service";
        start_unit(sys, live);
        CHECK(wait_for_journal(sys, icpt, " connected", 10s));
        check_main_process(sys, live, "/usr/bin/tcpreplay2");
        // systemctl stop: SIGTERM, the summary, exit 0; the recording lands in the state
        // directory (with DynamicUser, under /var/lib/private).
        check_ok(sys.run({"systemctl", "stop", live}));
        {
            INFO(unit_report(sys, live));
            CHECK(unit_property(sys, live, "Result") == "success");
            CHECK(unit_property(sys, live, "ExecMainStatus") == "0");
            CHECK(fs::is_regular_file(root.path() /
                                      "var/lib/private/tcpreplay2-live-lo/live.pcap.zst"));
        }

        // Restart=on-failure: killed with SIGKILL, intercept is back after RestartSec (5 s),
        // a new process with a second start line.
        require_ok(sys.run({"sh", "-c", "kill -KILL " + std::to_string(first)}));
        const bool restarted = wait_until(
            [&] {
                const std::string pid = unit_property(sys, icpt, "MainPID");
                return unit_property(sys, icpt, "ActiveState") == "active" && pid != "0" &&
                       pid != std::to_string(first);
            },
            20s);
        {
            INFO(unit_report(sys, icpt));
            CHECK(restarted);
            CHECK(unit_property(sys, icpt, "NRestarts") == "1");
            CHECK(wait_for_journal(sys, icpt, started, 10s, 2));
        }
        CHECK(check_main_process(sys, icpt, "/usr/sbin/intercept") != first);

        check_ok(sys.run({"systemctl", "stop", icpt}));
        CHECK(unit_property(sys, icpt, "Result") == "success");
        INFO("--- console ---\n" << sys.console());
        CHECK(sys.power_off(60s));
    }

    // dpkg --purge takes every file of the package away again.
    require_ok(root.run({"dpkg", "--purge", "tcpr"}, 120s));
    CHECK(!installed(root, "tcpr"));
    for (const auto& p : kPrograms) {
        CHECK(!fs::exists(root.path() / p.path.substr(1)));
        CHECK(!fs::exists(root.path() / p.man_page.substr(1)));
    }
    for (const auto& u : kUnits) {
        CHECK(!fs::exists(root.path() / u.substr(1)));
    }
}

}  // namespace
}  // namespace tcpr::test
