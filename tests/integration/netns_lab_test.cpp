// Tests of the NetnsLab fixture itself: topology, nginx, commands, and that it always cleans
// up what it created. Root only (they fail loudly without it).
#include "support/netns_lab.h"

#include <chrono>
#include <filesystem>
#include <optional>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool namespace_exists(const std::string& name) { return fs::exists("/run/netns/" + name); }

bool pid_alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// One curl GET from `host`; returns the HTTP status (0 if the connection failed).
int http_status(NetnsLab& lab, const std::string& host, const std::string& url) {
    const CommandResult r = lab.run(
        host, {"curl", "-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", url}, 15s);
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    return std::atoi(r.out.c_str());
}

}  // namespace

TEST_CASE_METHOD(NetnsLab, "the lab serves nginx to a client namespace", "[e2e][lab]") {
    NetnsLab::require_tool("curl", "as the HTTP client");
    add_host("client");
    add_host("server");
    const Link& l = link("client", "server");
    CHECK(l.if_a == "eth0");
    CHECK(l.if_b == "eth0");
    const Nginx& nginx = start_nginx("server", l.addr_b, 80);

    // No default route, only the link's /24 (and loopback).
    const CommandResult routes = run("client", {"ip", "-4", "route", "show"}, 10s);
    REQUIRE(routes.ok());
    CHECK(routes.out.find("default") == std::string::npos);
    CHECK(routes.out.find(l.subnet) != std::string::npos);

    CHECK(http_status(*this, "client", nginx.url("/small")) == 200);
    CHECK(http_status(*this, "client", nginx.url("/large")) == 200);
    CHECK(http_status(*this, "client", nginx.url("/noise")) == 200);
    CHECK(http_status(*this, "client", nginx.url("/api/items?id=7")) == 200);
    CHECK(http_status(*this, "client", nginx.url("/missing")) == 404);
    write_file(path("body"), std::string(200 * 1024, 'x'));
    const CommandResult post =
        run("client",
            {"curl", "-s", "--max-time", "5", "-H", "Expect:", "--data-binary",
             "@" + path("body").string(), "-o", "/dev/null", "-w", "%{http_code} %{size_upload}",
             nginx.url("/upload")},
            15s);
    CHECK(post.out == "200 204800");
    const CommandResult large =
        run("client", {"curl", "-s", "--max-time", "5", nginx.url("/large")}, 15s);
    REQUIRE(large.out.size() == nginx.large_bytes);
    CHECK(large.out.substr(0, 25) == "tcpr /large line 000001: ");
    CHECK(large.out.substr(large.out.size() - 100, 25) == "tcpr /large line 003072: ");

    const auto log = access_log_lines(nginx);
    REQUIRE(log.size() == 7);
    CHECK(log[0].rfind(l.addr_a + ":", 0) == 0);
    CHECK(log[0].find("\"GET /small HTTP/1.1\" 200") != std::string::npos);
    CHECK(log[4].find("\"GET /missing HTTP/1.1\" 404") != std::string::npos);
    CHECK(log[5].find("\"POST /upload HTTP/1.1\" 200") != std::string::npos);

    // Background processes are owned: a spawned sleeper can be killed now (or at teardown).
    Process& sleeper = spawn("server", {"sleep", "60"}, "sleeper");
    CHECK(sleeper.running());
    CHECK(sleeper.kill() == 128 + SIGKILL);
    CHECK_FALSE(sleeper.running());
    // A process that exits on its own reports its exit code.
    Process& quick = spawn("server", {"sh", "-c", "echo hi; exit 7"}, "quick");
    CHECK(quick.wait(10s) == std::optional<int>(7));
    CHECK(quick.stdout_text() == "hi\n");
    // run() kills a command that exceeds its timeout, with its children.
    const auto start = std::chrono::steady_clock::now();
    const CommandResult slow = run("client", {"sh", "-c", "sleep 30 & sleep 30"}, 300ms);
    CHECK(slow.timed_out);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    // A missing program is a clear failure of run(), not a hang.
    const CommandResult missing = run("client", {"tcpr-no-such-program"}, 5s);
    CHECK(missing.exit_code != 0);
}

TEST_CASE_METHOD(NetnsLab, "the lab routes between three namespaces and a dummy interface",
                 "[e2e][lab]") {
    NetnsLab::require_tool("curl", "as the HTTP client");
    // replayer -- target -- intercept, as the replay tests build it; the target's service
    // listens on a dummy interface; the replayer reaches it through the target's link.
    add_host("replayer");
    add_host("target");
    add_host("intercept");
    const Link& rt = link("replayer", "target");
    const Link& ti = link("target", "intercept");
    CHECK(ti.if_a == "eth1");  // the target's second interface
    CHECK(rt.subnet != ti.subnet);
    const std::string service_net = fresh_subnet();
    const std::string kind = add_dummy("target", "svc0", service_net + ".1/24");
    CHECK((kind == "dummy" || kind == "ifb"));
    add_route("replayer", service_net + ".0/24", rt.addr_b);
    const Nginx& nginx = start_nginx("target", service_net + ".1", 8080);
    CHECK(http_status(*this, "replayer", nginx.url("/small")) == 200);

    // The intercept host reaches the replayer through the target once it forwards.
    add_route("intercept", rt.subnet, ti.addr_a);
    add_route("replayer", ti.subnet, rt.addr_b);
    add_route("intercept", service_net + ".0/24", ti.addr_a);
    CHECK(http_status(*this, "intercept", nginx.url("/small")) == 200);  // local to the target
    set_sysctl("target", "net.ipv4.ip_forward", "1");
    const CommandResult fwd = run("target", {"cat", "/proc/sys/net/ipv4/ip_forward"}, 5s);
    CHECK(fwd.out == "1\n");
    // A second nginx on the intercept host, reached from the replayer across the target.
    const Nginx& far = start_nginx("intercept", ti.addr_b, 80);
    CHECK(http_status(*this, "replayer", far.url("/small")) == 200);
    const auto log = access_log_lines(far);
    REQUIRE(log.size() == 1);
    CHECK(log[0].rfind(rt.addr_a + ":", 0) == 0);  // not NATed: the replayer's own address

    // Single-host intercept: the target routes a client pool to a dummy interface; a capture
    // there sees the target's packets to those clients, and they go nowhere.
    NetnsLab::require_tool("tcpdump", "to capture on the dummy interface");
    const std::string pool = fresh_subnet();
    add_dummy("target", "sink0", pool + ".254/24");
    Process& cap = spawn("target", {"tcpdump", "-i", "sink0", "-n", "-l", "-c", "2", "tcp port 9"},
                         "tcpdump-sink");
    REQUIRE(wait_until([&] { return cap.stderr_text().find("listening on") != std::string::npos; },
                       10s));
    // Two SYNs from the target towards pool addresses (nobody answers: connect times out).
    // (0.5 s: below the 1 s SYN retransmission, so each connect sends exactly one SYN)
    run("target", {"curl", "-s", "--connect-timeout", "0.5", "http://" + pool + ".7:9/"}, 10s);
    run("target", {"curl", "-s", "--connect-timeout", "0.5", "http://" + pool + ".8:9/"}, 10s);
    const auto code = cap.wait(10s);
    INFO("tcpdump: " << cap.stdout_text() << cap.stderr_text());
    REQUIRE(code == std::optional<int>(0));
    CHECK(cap.stdout_text().find("> " + pool + ".7.9: Flags [S]") != std::string::npos);
    CHECK(cap.stdout_text().find("> " + pool + ".8.9: Flags [S]") != std::string::npos);
}

TEST_CASE("a lab deletes its namespaces and kills its processes when a test throws", "[e2e][lab]") {
    std::vector<std::string> names;
    pid_t sleeper = -1, nginx_pid = -1;
    std::string lab_dir;
    try {
        NetnsLab lab;
        names.push_back(lab.add_host("one"));
        names.push_back(lab.add_host("two"));
        const Link& l = lab.link("one", "two");
        sleeper = lab.spawn("one", {"sleep", "60"}, "sleeper").pid();
        nginx_pid = lab.start_nginx("two", l.addr_b).process->pid();
        lab_dir = lab.dir().string();
        for (const auto& n : names) {
            REQUIRE(namespace_exists(n));
            REQUIRE(n.rfind(NetnsLab::namespace_prefix(), 0) == 0);
        }
        REQUIRE(pid_alive(sleeper));
        REQUIRE(pid_alive(nginx_pid));
        throw std::runtime_error("a failing test");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "a failing test");
    }
    for (const auto& n : names) {
        CHECK_FALSE(namespace_exists(n));
    }
    CHECK_FALSE(pid_alive(sleeper));
    CHECK_FALSE(pid_alive(nginx_pid));
    CHECK_FALSE(fs::exists(lab_dir));
    // nginx's worker went with its master's process group.
    const CommandResult ps = run_command({"pgrep", "-f", lab_dir}, 5s);
    CHECK(ps.out.empty());
}

}  // namespace tcpr::test
