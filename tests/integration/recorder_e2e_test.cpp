// End-to-end tests of tcprec: real traffic (curl -> nginx) between two network namespaces,
// recorded by the built tcprec, checked with tcprec --info/--verify/--repair and with the
// standard tools (zstd -dc | tcpdump -r -). They need root and fail loudly without it.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <signal.h>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/e2e_helpers.h"
#include "support/json_lite.h"
#include "support/netns_lab.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

std::string tcprec() {
    const fs::path p = fs::path(TCPR_BINARY_DIR) / "src" / "tcprec";
    INFO("the tcprec binary is not built at " << p);
    REQUIRE(fs::exists(p));
    return p.string();
}

// One curl transfer as reported by curl -w.
struct Transfer {
    uint16_t local_port = 0;
    int http_code = 0;
    int new_connections = 0;
    uint64_t request_bytes = 0, upload_bytes = 0, header_bytes = 0, download_bytes = 0;
};

constexpr const char* kCurlFormat =
    "%{local_port} %{http_code} %{num_connects} %{size_request} %{size_upload} %{size_header} "
    "%{size_download}\\n";

std::vector<Transfer> parse_transfers(const std::string& out) {
    std::vector<Transfer> ts;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) {
            continue;
        }
        std::istringstream ls(line);
        Transfer t;
        ls >> t.local_port >> t.http_code >> t.new_connections >> t.request_bytes >>
            t.upload_bytes >> t.header_bytes >> t.download_bytes;
        INFO("curl -w line: " << line);
        REQUIRE(!ls.fail());
        ts.push_back(t);
    }
    return ts;
}

// Client namespace, server namespace, one veth link, nginx on the server side.
struct WebLab {
    const Link* link = nullptr;
    const Nginx* nginx = nullptr;
    std::string client_addr, server_addr, server_if;
};

WebLab make_web_lab(NetnsLab& lab) {
    NetnsLab::require_tool("curl", "as the HTTP client");
    lab.add_host("client");
    lab.add_host("server");
    WebLab w;
    w.link = &lab.link("client", "server");
    w.client_addr = w.link->addr_a;
    w.server_addr = w.link->addr_b;
    w.server_if = w.link->if_b;
    w.nginx = &lab.start_nginx("server", w.server_addr, 80);
    return w;
}

// Runs one curl invocation in the client namespace (several URLs share one connection when
// --local-port pins it) and returns its transfers, REQUIRing success.
std::vector<Transfer> curl(NetnsLab& lab, const std::vector<std::string>& args) {
    std::vector<std::string> argv{
        "curl",     "--no-progress-meter", "--max-time", "20", "--connect-timeout", "5", "-w",
        kCurlFormat};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult r = lab.run("client", argv, 30s);
    INFO(r.describe());
    REQUIRE(r.ok());
    return parse_transfers(r.out);
}

// Starts tcprec in `host` and waits until it has opened its output (its capture is then
// active: the output is created after the capture and its filter are set up).
Process& start_tcprec(NetnsLab& lab, const std::string& host, const fs::path& out,
                      std::vector<std::string> args) {
    std::vector<std::string> argv{tcprec()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-o", out.string()});
    Process& p = lab.spawn(host, argv, "tcprec");
    const std::string partial = out.string() + ".partial";
    const bool opened =
        wait_until([&] { return fs::exists(partial) || fs::exists(out) || !p.running(); }, 10s);
    INFO("tcprec did not start recording within 10 s: " << p.command()
                                                        << "\nstderr: " << p.stderr_text());
    REQUIRE(opened);
    return p;
}

// SIGINT, then REQUIRE a clean exit within 10 s.
void stop_tcprec(Process& p) {
    // The capture hands packets over in blocks that time out after 100 ms: give the last
    // packets of the traffic time to reach tcprec before asking it to stop.
    std::this_thread::sleep_for(500ms);
    p.signal(SIGINT);
    const auto code = p.wait(10s);
    INFO("tcprec after SIGINT: " << p.command() << "\nstderr: " << p.stderr_text());
    REQUIRE(code.has_value());
    REQUIRE(*code == 0);
}

Json info_json(NetnsLab& lab, const fs::path& archive) {
    const CommandResult r =
        lab.run("", {tcprec(), "--info", archive.string(), "--all-sessions", "--json"}, 30s);
    INFO(r.describe());
    REQUIRE(r.ok());
    try {
        return Json::parse(r.out);
    } catch (const std::exception& e) {
        FAIL("tcprec --info --json printed invalid JSON: " << e.what() << "\n" << r.out);
    }
    return Json();
}

CommandResult verify(NetnsLab& lab, const fs::path& archive) {
    return lab.run("", {tcprec(), "--verify", archive.string()}, 60s);
}

// `zstd -dc ARCHIVE | tcpdump -nr - [FILTER]`: REQUIREs success, returns tcpdump's lines.
std::vector<std::string> tcpdump_lines(NetnsLab& lab, const fs::path& archive,
                                       const std::string& filter = "",
                                       std::string* tcpdump_stderr = nullptr) {
    const CommandResult r =
        lab.run("",
                {"bash", "-c", "set -o pipefail; zstd -dc -- \"$1\" | tcpdump -nr - $2", "-",
                 archive.string(), filter},
                60s);
    INFO(r.describe());
    REQUIRE(r.ok());
    if (tcpdump_stderr != nullptr) {
        *tcpdump_stderr = r.err;
    }
    std::vector<std::string> lines;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) {
            lines.push_back(line);
        }
    }
    return lines;
}

// TCP payload bytes per direction of the connection from `client` ("10.1.2.1.41001" in
// tcpdump's notation), summed from tcpdump's "length N" of each line: an independent count.
struct Payload {
    uint64_t c2s = 0, s2c = 0;
};
Payload tcpdump_payload(const std::vector<std::string>& lines, const std::string& client) {
    Payload p;
    for (const auto& line : lines) {
        const auto ip = line.find(" IP ");
        const auto len = line.find(", length ");
        REQUIRE(ip != std::string::npos);
        REQUIRE(len != std::string::npos);
        const uint64_t n = std::stoull(line.substr(len + 9));
        const bool from_client = line.compare(ip + 4, client.size() + 1, client + " ") == 0;
        (from_client ? p.c2s : p.s2c) += n;
    }
    return p;
}

uint16_t port_of(const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    REQUIRE(colon != std::string::npos);
    return static_cast<uint16_t>(std::stoul(endpoint.substr(colon + 1)));
}

// A bounded loop of short connections (GET /small) from the client namespace in the
// background: connection i uses local port base + i; each completed one appends
// "<port> <unix time> <curl exit code>" to `log`.
Process& start_curl_loop(NetnsLab& lab, const WebLab& w, uint16_t base, int count,
                         const std::string& interval, const fs::path& log,
                         const std::string& path = "/small") {
    const std::string script =
        "for i in $(seq 0 " + std::to_string(count - 1) + "); do p=$((" + std::to_string(base) +
        " + i)); curl -s --max-time 5 --local-port $p -o /dev/null " + w.nginx->url(path) +
        "; echo \"$p $(date +%s.%N) $?\" >> " + log.string() + "; sleep " + interval + "; done";
    return lab.spawn("client", {"bash", "-c", script}, "curl-loop");
}

struct LoopEntry {
    uint16_t port;
    double finished_at;  // unix time
    int code;
};

std::vector<LoopEntry> read_loop_log(const fs::path& log) {
    std::vector<LoopEntry> es;
    std::istringstream in(read_text(log));
    LoopEntry e{};
    while (in >> e.port >> e.finished_at >> e.code) {
        es.push_back(e);
    }
    return es;
}

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Per-session checks shared by the tests: every session of the archive is a complete
// connection from the client to nginx.
void check_complete_session(const Json& s, const WebLab& w) {
    INFO("session " << s["client"].as_string() << " -> " << s["server"].as_string());
    CHECK(s["server"].as_string() == w.server_addr + ":80");
    CHECK(s["client"].as_string().rfind(w.client_addr + ":", 0) == 0);
    CHECK(s["syn"].as_bool());
    CHECK(s["syn_ack"].as_bool());
    CHECK(s["fin"].as_bool());
    CHECK(s["bytes_c2s"].as_u64() > 0);
    CHECK(s["bytes_s2c"].as_u64() > 0);
}

}  // namespace

TEST_CASE_METHOD(NetnsLab, "tcprec records exactly the sessions curl made", "[e2e][recorder]") {
    const WebLab w = make_web_lab(*this);
    const fs::path out = path("http.pcap.zst");
    Process& rec = start_tcprec(*this, "server", out, {"-i", w.server_if, "-p", "80", "-q"});
    // Started as root, it records as nobody (-Z's default) with no capability.
    check_runs_as_nobody(rec.pid());

    const uint16_t keepalive_port = 41001, large_port = 41002, post_port = 41003;
    // Connection 1: three requests on one keep-alive connection.
    const auto t1 = curl(*this, {"--local-port", std::to_string(keepalive_port), "-o", "/dev/null",
                                 w.nginx->url("/small"), "-o", "/dev/null",
                                 w.nginx->url("/api/a?x=1"), "-o", "/dev/null", w.nginx->url("/")});
    // Connection 2: one large response.
    const auto t2 = curl(*this, {"--local-port", std::to_string(large_port), "-o", "/dev/null",
                                 w.nginx->url("/large")});
    // Connection 3: a 200 kB POST.
    write_file(path("body"), std::string(200 * 1024, 'p'));
    const auto t3 =
        curl(*this, {"--local-port", std::to_string(post_port), "-H", "Expect:", "--data-binary",
                     "@" + path("body").string(), "-o", "/dev/null", w.nginx->url("/upload")});
    REQUIRE(t1.size() == 3);
    CHECK(t1[0].new_connections == 1);
    CHECK(t1[1].new_connections == 0);  // reused: one connection for three requests
    CHECK(t1[2].new_connections == 0);
    REQUIRE(t2.size() == 1);
    CHECK(t2[0].download_bytes == w.nginx->large_bytes);
    REQUIRE(t3.size() == 1);
    CHECK(t3[0].upload_bytes == 200 * 1024);
    for (const auto& t : {t1[0], t1[1], t1[2], t2[0], t3[0]}) {
        CHECK(t.http_code == 200);
    }
    stop_tcprec(rec);

    REQUIRE(fs::exists(out));
    check_owned_by_nobody(out);  // written as nobody
    CHECK_FALSE(fs::exists(out.string() + ".partial"));

    const Json info = info_json(*this, out);
    CHECK(info["link_type"].as_u64() == 1);  // Ethernet
    const uint64_t packets = info["packets"].as_u64();
    CHECK(packets > 0);
    CHECK(info["indexed"].as_u64() == packets);  // the filter passed TCP port 80 only
    CHECK(info["not_indexed"].size() == 0);
    CHECK(info["kernel_drops"].as_u64() == 0);
    REQUIRE(info["session_count"].as_u64() == 3);
    const auto& sessions = info["sessions"].as_array();
    REQUIRE(sessions.size() == 3);

    // Expected TCP payload per direction, from curl's own byte counts.
    struct Expected {
        uint64_t c2s = 0, s2c = 0;
    };
    std::map<uint16_t, Expected> expected;
    for (const auto& t : {t1[0], t1[1], t1[2], t2[0], t3[0]}) {
        expected[t.local_port].c2s += t.request_bytes + t.upload_bytes;
        expected[t.local_port].s2c += t.header_bytes + t.download_bytes;
    }
    REQUIRE(expected.size() == 3);
    CHECK(expected.count(keepalive_port) == 1);

    std::set<uint16_t> seen;
    uint64_t session_packets = 0;
    for (const auto& s : sessions) {
        check_complete_session(s, w);
        const uint16_t port = port_of(s["client"].as_string());
        seen.insert(port);
        INFO("session from port " << port);
        REQUIRE(expected.count(port) == 1);
        // At least what curl sent and received; more only if TCP retransmitted (a veth can
        // reorder segments of a sender that changes CPU, which triggers fast retransmits).
        CHECK(s["bytes_c2s"].as_u64() >= expected[port].c2s);
        CHECK(s["bytes_s2c"].as_u64() >= expected[port].s2c);
        const uint64_t n = s["packets_c2s"].as_u64() + s["packets_s2c"].as_u64();
        session_packets += n;
        // tcpdump agrees exactly on the packets and payload bytes of each session.
        const auto lines = tcpdump_lines(*this, out, "tcp port " + std::to_string(port));
        CHECK(lines.size() == n);
        const Payload p = tcpdump_payload(lines, w.client_addr + "." + std::to_string(port));
        CHECK(s["bytes_c2s"].as_u64() == p.c2s);
        CHECK(s["bytes_s2c"].as_u64() == p.s2c);
        // Packets per direction.
        size_t from_client = 0;
        for (const auto& l : lines) {
            from_client += l.find(" IP " + w.client_addr + "." + std::to_string(port) + " ") !=
                                   std::string::npos
                               ? 1
                               : 0;
        }
        CHECK(s["packets_c2s"].as_u64() == from_client);
    }
    CHECK(seen == std::set<uint16_t>{keepalive_port, large_port, post_port});
    CHECK(session_packets == packets);

    // nginx saw the same: 3 requests on the keep-alive connection, then 1 and 1.
    const auto log = access_log_lines(*w.nginx);
    REQUIRE(log.size() == 5);
    CHECK(log[0].rfind(w.client_addr + ":41001 \"GET /small HTTP/1.1\" 200", 0) == 0);
    CHECK(log[2].rfind(w.client_addr + ":41001 \"GET / HTTP/1.1\" 200", 0) == 0);
    CHECK(log[4].rfind(w.client_addr + ":41003 \"POST /upload HTTP/1.1\" 200", 0) == 0);

    const CommandResult v = verify(*this, out);
    INFO(v.describe());
    CHECK(v.exit_code == 0);
    CHECK(v.out.find("archive is intact") != std::string::npos);

    // The standard tools read the archive: as many packets as the index says.
    std::string tcpdump_err;
    CHECK(tcpdump_lines(*this, out, "", &tcpdump_err).size() == packets);
    CHECK(tcpdump_err.find("link-type EN10MB") != std::string::npos);

    // The text table lists the same three sessions.
    const CommandResult text = run("", {tcprec(), "--info", out.string()}, 30s);
    INFO(text.describe());
    REQUIRE(text.ok());
    CHECK(text.out.find("sessions:   3 (3 with SYN, 3 closed by FIN/RST)") != std::string::npos);
    for (uint16_t port : {keepalive_port, large_port, post_port}) {
        CHECK(text.out.find(w.client_addr + ":" + std::to_string(port) + " ") != std::string::npos);
    }
}

TEST_CASE_METHOD(NetnsLab, "a SIGKILLed tcprec leaves a .partial that --repair recovers",
                 "[e2e][recorder]") {
    const WebLab w = make_web_lab(*this);
    const fs::path out = path("killed.pcap.zst");
    const fs::path partial = out.string() + ".partial";
    Process& rec = start_tcprec(*this, "server", out, {"-i", w.server_if, "-p", "80", "-q"});
    const fs::path log = path("loop.log");
    // ~60 short connections over ~8 s; tcprec is killed in the middle of them.
    Process& loop = start_curl_loop(*this, w, 42000, 60, "0.1", log);
    std::this_thread::sleep_for(3500ms);  // > 2 s: several frames have reached the disk
    REQUIRE(rec.running());
    const double killed_at = unix_now();
    rec.signal(SIGKILL);
    REQUIRE(rec.wait(5s) == std::optional<int>(128 + SIGKILL));
    loop.kill();
    const auto entries = read_loop_log(log);

    CHECK_FALSE(fs::exists(out));
    REQUIRE(fs::exists(partial));
    const auto partial_bytes = read_file(partial);

    // Recording again to the same name must not destroy what the killed recording left.
    const CommandResult again =
        run("server", {tcprec(), "-i", w.server_if, "-p", "80", "-o", out.string()}, 20s);
    {
        INFO(again.describe());
        CHECK(again.exit_code == 1);
        CHECK(again.err == "tcprec: error: cannot record to '" + out.string() + "': '" +
                               partial.string() +
                               "' exists (left by an interrupted recording? 'tcprec --repair " +
                               partial.string() + "' recovers it; remove it to record anew)\n");
        CHECK(read_file(partial) == partial_bytes);
    }

    // No trailer: verify reports damage (exit 3) with one error line.
    const CommandResult v = verify(*this, partial);
    INFO(v.describe());
    CHECK(v.exit_code == 3);
    CHECK(std::count(v.err.begin(), v.err.end(), '\n') == 1);
    CHECK(v.err.rfind("tcprec: error: '" + partial.string() + "' is damaged", 0) == 0);
    CHECK(v.out.find("no archive trailer") != std::string::npos);
    // --info refuses it with one line and exit 1.
    const CommandResult i = run("", {tcprec(), "--info", partial.string()}, 30s);
    CHECK(i.exit_code == 1);
    CHECK(std::count(i.err.begin(), i.err.end(), '\n') == 1);
    CHECK(i.err.rfind("tcprec: error: ", 0) == 0);

    const CommandResult r = run("", {tcprec(), "--repair", partial.string()}, 60s);
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    REQUIRE(fs::exists(out));
    const CommandResult v2 = verify(*this, out);
    INFO(v2.describe());
    CHECK(v2.exit_code == 0);

    const Json info = info_json(*this, out);
    std::map<uint16_t, const Json*> by_port;
    for (const auto& s : info["sessions"].as_array()) {
        const uint16_t port = port_of(s["client"].as_string());
        by_port[port] = &s;
    }
    // Every session in the archive is one the loop made (or the one in flight at the kill)...
    std::set<uint16_t> made;
    for (const auto& e : entries) {
        made.insert(e.port);
    }
    made.insert(static_cast<uint16_t>(42000 + entries.size()));
    for (const auto& [port, s] : by_port) {
        INFO("recorded session from port " << port);
        CHECK(made.count(port) == 1);
    }
    // ... and every connection that completed more than ~1 s before the kill is in it whole.
    size_t must_have = 0;
    for (const auto& e : entries) {
        if (e.code != 0 || e.finished_at > killed_at - 1.5) {
            continue;
        }
        ++must_have;
        INFO("connection from port " << e.port << " finished " << (killed_at - e.finished_at)
                                     << " s before the kill");
        REQUIRE(by_port.count(e.port) == 1);
        check_complete_session(*by_port[e.port], w);
    }
    CHECK(must_have >= 10);
    // Lost: at most the connections of the last ~1 s (about 10 at this rate), never more.
    size_t before_kill = 0;
    for (const auto& e : entries) {
        before_kill += e.finished_at < killed_at ? 1 : 0;
    }
    CHECK(by_port.size() + 15 >= before_kill);

    std::string tcpdump_err;
    CHECK(tcpdump_lines(*this, out, "", &tcpdump_err).size() == info["packets"].as_u64());
}

TEST_CASE_METHOD(NetnsLab, "tcprec -i any -c N records N packets with the cooked link type",
                 "[e2e][recorder]") {
    const WebLab w = make_web_lab(*this);
    const fs::path out = path("any.pcap.zst");
    Process& rec = start_tcprec(*this, "server", out, {"-i", "any", "-p", "80", "-c", "25", "-q"});
    Process& loop = start_curl_loop(*this, w, 43000, 40, "0.05", path("loop.log"));
    const auto code = rec.wait(20s);
    loop.kill();
    INFO("tcprec: " << rec.stderr_text());
    REQUIRE(code == std::optional<int>(0));
    REQUIRE(fs::exists(out));
    const Json info = info_json(*this, out);
    CHECK(info["packets"].as_u64() == 25);
    CHECK(info["link_type"].as_u64() == 113);  // LINKTYPE_LINUX_SLL
    CHECK(info["indexed"].as_u64() == 25);
    CHECK(info["session_count"].as_u64() >= 2);
    std::string tcpdump_err;
    CHECK(tcpdump_lines(*this, out, "", &tcpdump_err).size() == 25);
    CHECK(tcpdump_err.find("LINUX_SLL") != std::string::npos);
    CHECK(verify(*this, out).exit_code == 0);
}

TEST_CASE_METHOD(NetnsLab, "tcprec --duration stops by itself", "[e2e][recorder]") {
    const WebLab w = make_web_lab(*this);
    const fs::path out = path("timed.pcap.zst");
    const auto start = std::chrono::steady_clock::now();
    Process& rec =
        start_tcprec(*this, "server", out, {"-i", w.server_if, "-p", "80", "--duration", "2s"});
    const auto t = curl(*this, {"-o", "/dev/null", w.nginx->url("/small")});
    REQUIRE(t.size() == 1);
    const auto code = rec.wait(10s);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    INFO("tcprec: " << rec.stderr_text());
    REQUIRE(code == std::optional<int>(0));
    CHECK(elapsed >= 2s);
    CHECK(elapsed < 6s);
    REQUIRE(fs::exists(out));
    CHECK_FALSE(fs::exists(out.string() + ".partial"));
    const Json info = info_json(*this, out);
    REQUIRE(info["session_count"].as_u64() == 1);
    check_complete_session(info["sessions"][0], w);
    CHECK(verify(*this, out).exit_code == 0);
}

TEST_CASE_METHOD(NetnsLab, "tcprec -G and -C rotate into several complete archives",
                 "[e2e][recorder]") {
    const WebLab w = make_web_lab(*this);
    const bool by_time = GENERATE(true, false);
    CAPTURE(by_time);
    const fs::path dir = path(by_time ? "by-time" : "by-size");
    fs::create_directories(dir);
    give_to_nobody(dir);  // tcprec writes its archives as nobody
    const fs::path out = dir / "rot.pcap.zst";
    std::vector<std::string> args{"-i", w.server_if, "-p", "80", "-q"};
    if (by_time) {
        args.insert(args.end(), {"-G", "1s"});
    } else {
        args.insert(args.end(), {"-C", "400k"});  // each /noise response is 300 kB of noise
    }
    Process& rec = start_tcprec(*this, "server", out, args);
    // 16 incompressible downloads over >= 3.2 s.
    Process& loop = start_curl_loop(*this, w, 44000, 16, "0.2", path("loop.log"), "/noise");
    REQUIRE(loop.wait(60s) == std::optional<int>(0));
    stop_tcprec(rec);
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) {
        files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    INFO("files: " << files.size() << "; tcprec said: " << rec.stderr_text());
    CHECK(files.size() >= 3);
    std::set<uint16_t> ports;
    uint64_t s2c = 0;
    for (const auto& f : files) {
        INFO("file " << f);
        CHECK(f.string().find(".partial") == std::string::npos);
        const CommandResult v = verify(*this, f);
        INFO(v.describe());
        CHECK(v.exit_code == 0);
        const Json info = info_json(*this, f);
        CHECK(tcpdump_lines(*this, f).size() == info["packets"].as_u64());
        for (const auto& s : info["sessions"].as_array()) {
            ports.insert(port_of(s["client"].as_string()));
            s2c += s["bytes_s2c"].as_u64();
        }
    }
    // Together the files hold all 16 downloads.
    CHECK(ports.size() == 16);
    CHECK(s2c >= 16 * w.nginx->noise_bytes);
}

TEST_CASE_METHOD(NetnsLab, "tcprec on a missing interface fails with one line and no output",
                 "[e2e][recorder]") {
    add_host("server");
    const fs::path out = path("none.pcap.zst");
    const CommandResult r =
        run("server", {tcprec(), "-i", "nosuch0", "-p", "80", "-o", out.string()}, 20s);
    INFO(r.describe());
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.rfind("tcprec: error: cannot capture on 'nosuch0': ", 0) == 0);
    CHECK_FALSE(fs::exists(out));
    CHECK_FALSE(fs::exists(out.string() + ".partial"));
}

}  // namespace tcpr::test
