#include "support/replay_lab.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "support/e2e_helpers.h"
#include "support/subprocess.h"

namespace tcpr::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string host_of(const std::string& endpoint) { return endpoint.substr(0, endpoint.rfind(':')); }

Sample import_sample(NetnsLab& lab) {
    Sample s;
    s.archive = lab.path("http.pcap.zst");
    const fs::path pcap = fs::path(TCPR_SOURCE_DIR) / "samples" / "http.pcap";
    const CommandResult imp =
        lab.run("", {binary("tcprec"), "-r", pcap.string(), "-o", s.archive.string(), "-q"}, 60s);
    {
        INFO(imp.describe());
        REQUIRE(imp.ok());
    }
    const CommandResult info = lab.run(
        "", {binary("tcprec"), "--info", s.archive.string(), "--all-sessions", "--json"}, 30s);
    INFO(info.describe());
    REQUIRE(info.ok());
    const Json j = Json::parse(info.out);
    std::set<std::string> clients;
    std::set<std::string> servers;
    for (const auto& session : j["sessions"].as_array()) {
        clients.insert(host_of(session["client"].as_string()));
        servers.insert(session["server"].as_string());
    }
    s.sessions = j["sessions"].size();
    s.client_addresses.assign(clients.begin(), clients.end());
    REQUIRE(servers.size() == 1);
    const std::string server = *servers.begin();
    s.server_port = static_cast<uint16_t>(std::stoul(server.substr(server.rfind(':') + 1)));

    const auto log_lines =
        split_lines(read_text(fs::path(TCPR_SOURCE_DIR) / "samples" / "http.access.log"));
    s.http_requests = log_lines.size();
    s.recorded = conversations(log_lines);
    // The access log of the recorded run and the archive describe the same connections.
    REQUIRE(s.recorded.size() == s.sessions);
    REQUIRE(s.http_requests > 0);
    return s;
}

ReplayLab make_replay_lab(NetnsLab& lab, Deployment d,
                          const std::vector<std::string>& client_addresses, uint16_t server_port,
                          LinkOptions links, bool start_target) {
    ReplayLab r;
    r.server_port = server_port;
    lab.add_host("replayer");
    lab.add_host("target");
    const Link& rt = lab.link("replayer", "target", links);
    for (const std::string host : {"replayer", "target"}) {
        lab.set_sysctl(host, "net.ipv4.conf.all.rp_filter", "0");
        lab.set_sysctl(host, "net.ipv4.conf.default.rp_filter", "0");
    }
    // The forged client sources arrive here but are routed out elsewhere: no reverse-path drop.
    lab.set_sysctl("target", "net.ipv4.conf." + rt.if_b + ".rp_filter", "0");
    if (d == Deployment::AssistantHost) {
        lab.add_host("assistant");
        const Link& ta = lab.link("target", "assistant", links);
        const Link& ra = lab.link("replayer", "assistant", links);
        lab.set_sysctl("assistant", "net.ipv4.ip_forward", "0");  // responses die here
        lab.set_sysctl("target", "net.ipv4.conf." + ta.if_a + ".rp_filter", "0");
        for (const auto& client : client_addresses) {
            lab.add_route("target", client + "/32", ta.addr_b);
        }
        r.replayer_addr = ra.addr_a;
        r.intercept_host = "assistant";
        r.intercept_if = ta.if_b;
        r.intercept_addr = ra.addr_b;
        r.intercept_gw = ta.addr_b;
        r.target_gw = ta.addr_a;
    } else {
        r.dummy_kind = lab.add_dummy("target", "tcpr0", lab.fresh_subnet() + ".1/24");
        for (const auto& client : client_addresses) {
            lab.add_route_dev("target", client + "/32", "tcpr0");
        }
        r.replayer_addr = rt.addr_a;
        r.intercept_host = "target";
        r.intercept_if = "tcpr0";
        r.intercept_addr = rt.addr_b;
    }
    if (start_target) {
        r.nginx = &lab.start_nginx("target", rt.addr_b, server_port);
    }
    r.target_addr = rt.addr_b;
    r.target = rt.addr_b + ":" + std::to_string(server_port);
    return r;
}

void route_clients_to_intercept(NetnsLab& lab, const ReplayLab& r, const std::string& cidr) {
    if (r.intercept_host == "assistant") {
        lab.add_route("target", cidr, r.intercept_gw);
    } else {
        lab.add_route_dev("target", cidr, r.intercept_if);
    }
}

void start_intercept(NetnsLab& lab, ReplayLab& r) {
    Process& p = lab.spawn(
        r.intercept_host,
        {binary("intercept"), "-i", r.intercept_if, "-F",
         "tcp and src port " + std::to_string(r.server_port), "-b", r.intercept_addr, "-q"},
        "intercept");
    require_intercept_listening(p, r.intercept_addr, kInterceptPort);
    r.intercept = &p;
}

std::string ReplayRun::describe(size_t max_err) const {
    std::ostringstream o;
    const std::string e = err.size() > max_err ? "[...]" + err.substr(err.size() - max_err) : err;
    o << command << "\nexit code: " << (exit_code ? std::to_string(*exit_code) : "none")
      << " after " << elapsed.count() << " ms\n--- stdout ---\n"
      << out << "--- stderr ---\n"
      << e;
    return o.str();
}

ReplayRun run_replayer(NetnsLab& lab, const std::string& host, const std::vector<std::string>& argv,
                       const fs::path& report, milliseconds deadline,
                       const std::function<void()>& during, milliseconds during_after) {
    ReplayRun run;
    run.report = report;
    const auto start = std::chrono::steady_clock::now();
    Process& p = lab.spawn(host, argv, "tcpreplay2");
    run.command = p.command();
    if (during) {
        std::this_thread::sleep_for(during_after);
        {
            INFO("tcpreplay2 ended before the fault was injected:\n"
                 << p.stdout_text() << p.stderr_text());
            REQUIRE(p.running());
        }
        during();
    }
    const auto left = deadline - std::chrono::duration_cast<milliseconds>(
                                     std::chrono::steady_clock::now() - start);
    run.exit_code = p.wait(std::max(left, milliseconds(0)));
    run.elapsed =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    if (!run.exit_code) {
        p.kill();
    }
    run.out = p.stdout_text();
    run.err = p.stderr_text();
    if (fs::exists(run.report)) {
        try {
            run.json = Json::parse(read_text(run.report));
        } catch (const std::exception& e) {
            FAIL("the --report file is not valid JSON: " << e.what() << "\n"
                                                         << read_text(run.report));
        }
    }
    return run;
}

ReplayRun replay(NetnsLab& lab, const ReplayLab& r, const fs::path& input,
                 const std::vector<std::string>& args, milliseconds deadline,
                 const std::function<void()>& during, milliseconds during_after) {
    static int runs = 0;
    const fs::path report = lab.path("report-" + std::to_string(runs++) + ".json");
    std::vector<std::string> argv{
        binary("tcpreplay2"), "--in",     input.string(), "--target",      r.target, "--intercept",
        r.intercept_addr,     "--report", "json",         report.string(), "-q"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_replayer(lab, "replayer", argv, report, deadline, during, during_after);
}

std::vector<std::string> open_connections(NetnsLab& lab, const std::string& host, uint16_t port) {
    const CommandResult r = lab.run(host, {"ss", "-tanH"}, 10s);
    INFO(r.describe());
    REQUIRE(r.ok());
    std::vector<std::string> open;
    const std::string suffix = ":" + std::to_string(port);
    for (const auto& line : split_lines(r.out)) {
        const auto w = split_words(line);
        REQUIRE(w.size() >= 5);
        const std::string& state = w[0];
        const std::string& local = w[3];
        const bool on_port =
            local.size() > suffix.size() &&
            local.compare(local.size() - suffix.size(), suffix.size(), suffix) == 0;
        if (on_port && state != "LISTEN" && state != "TIME-WAIT") {
            open.push_back(line);
        }
    }
    return open;
}

void check_nothing_half_open(NetnsLab& lab, const ReplayLab& r) {
    std::vector<std::string> open;
    wait_until(
        [&] {
            open = open_connections(lab, "target", r.server_port);
            return open.empty();
        },
        1s);
    std::string listing;
    for (const auto& l : open) {
        listing += l + "\n";
    }
    INFO("connections left on the target:\n" << listing);
    CHECK(open.empty());
}

std::vector<std::string> access_log(NetnsLab& lab, const Nginx& nginx, size_t expected) {
    std::vector<std::string> lines;
    wait_until(
        [&] {
            lines = lab.access_log_lines(nginx);
            return lines.size() >= expected;
        },
        2s);
    return lines;
}

}  // namespace tcpr::test
