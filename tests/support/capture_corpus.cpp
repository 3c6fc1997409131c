#include "support/capture_corpus.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <signal.h>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "support/subprocess.h"

namespace tcpr::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (const char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

bool flag(const std::string& v) { return v == "1" || v == "True" || v == "true"; }

std::string endpoint(const std::string& addr, const std::string& port) { return addr + ":" + port; }

// The value after "Key:" in capinfos' output ("File type:           Wireshark/... - pcap").
std::string capinfos_value(const std::string& out, const std::string& key) {
    for (const auto& line : split_lines(out)) {
        if (line.rfind(key + ":", 0) == 0) {
            const auto v = line.find_first_not_of(' ', key.size() + 1);
            return v == std::string::npos ? "" : line.substr(v);
        }
    }
    return "";
}

// A body of `bytes` printable, not very compressible bytes (xorshift, fixed seed).
void write_body(const fs::path& path, size_t bytes) {
    std::string body(bytes, 'x');
    uint64_t x = 0x2545F4914F6CDD1DULL;
    for (auto& c : body) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>('a' + (x >> 40) % 26);
    }
    write_file(path, body);
}

// Runs a bash script in the client host; REQUIREs success within `timeout`.
CommandResult client_script(NetnsLab& lab, const std::string& script, milliseconds timeout = 60s) {
    const CommandResult r = lab.run("client", {"bash", "-c", script}, timeout);
    INFO(r.describe());
    REQUIRE(r.ok());
    return r;
}

// curl's -w lines "CODE CONNECTS": REQUIREs `expected` lines, each code in `codes` (in order,
// cycling), and one new connection per curl run (keep-alive: the rest reused it).
void check_curl_results(const CommandResult& r, const std::vector<std::string>& codes,
                        size_t expected, size_t curl_runs) {
    INFO(r.describe());
    const auto lines = split_lines(r.out);
    REQUIRE(lines.size() == expected);
    size_t connects = 0;
    std::multiset<std::string> got, want;
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto w = split(lines[i], ' ');
        REQUIRE(w.size() == 2);
        got.insert(w[0]);
        want.insert(codes[i % codes.size()]);
        connects += std::stoul(w[1]);
    }
    CHECK(got == want);
    CHECK(connects == curl_runs);
}

void require_recorded_run_ok(const CommandResult& r, const std::string& needle) {
    INFO(r.describe());
    REQUIRE(r.out.find(needle) != std::string::npos);
}

}  // namespace

// ---- CaptureFacts ----------------------------------------------------------------------------

uint64_t CaptureFacts::sessions() const {
    uint64_t n = 0;
    for (const auto& c : connections) {
        n += (c.syn || c.requests > 0) ? 1 : 0;
    }
    return n;
}

uint64_t CaptureFacts::connections_with_requests() const {
    return static_cast<uint64_t>(std::count_if(connections.begin(), connections.end(),
                                               [](const auto& c) { return c.requests > 0; }));
}

uint64_t CaptureFacts::connections_without_client_data() const {
    return static_cast<uint64_t>(std::count_if(connections.begin(), connections.end(),
                                               [](const auto& c) { return c.client_bytes == 0; }));
}

uint64_t CaptureFacts::connections_without_syn() const {
    return static_cast<uint64_t>(std::count_if(connections.begin(), connections.end(),
                                               [](const auto& c) { return !c.syn; }));
}

uint64_t CaptureFacts::connections_still_open() const {
    return static_cast<uint64_t>(std::count_if(connections.begin(), connections.end(),
                                               [](const auto& c) { return !c.closed; }));
}

uint64_t CaptureFacts::answered() const {
    return static_cast<uint64_t>(
        std::count_if(requests.begin(), requests.end(), [](const auto& r) { return r.answered; }));
}

std::map<std::string, uint64_t> CaptureFacts::request_counts() const {
    std::map<std::string, uint64_t> counts;
    for (const auto& r : requests) {
        ++counts[r.request];
    }
    return counts;
}

Conversations CaptureFacts::conversations() const {
    Conversations c;
    for (const auto& r : requests) {
        c[r.client].push_back(r.request);
    }
    return c;
}

std::map<std::vector<std::string>, size_t> CaptureFacts::request_sequences() const {
    std::map<uint32_t, std::vector<std::string>> by_stream;
    for (const auto& r : requests) {
        by_stream[r.stream].push_back(r.request);
    }
    std::map<std::vector<std::string>, size_t> counts;
    for (const auto& [stream, sequence] : by_stream) {
        ++counts[sequence];
    }
    return counts;
}

CaptureFacts analyze_capture(NetnsLab& lab, const fs::path& file, uint16_t server_port) {
    NetnsLab::require_tool("tshark", "to count the requests a capture holds (package tshark)");
    NetnsLab::require_tool("capinfos", "to read a capture's type (package wireshark-common)");
    fs::path readable = file;
    if (file.extension() == ".zst") {
        // Our archive decompresses to one classic pcap (the index is in skippable frames).
        readable = file.parent_path() / (file.stem().string() + ".analyzed.pcap");
        const CommandResult z =
            lab.sh("", "zstd -q -d -c '" + file.string() + "' > '" + readable.string() + "'", 60s);
        INFO(z.describe());
        REQUIRE(z.ok());
    }
    CaptureFacts f;
    const CommandResult ci = lab.run("", {"capinfos", "-t", "-E", readable.string()}, 60s);
    {
        INFO(ci.describe());
        REQUIRE(ci.ok());
    }
    f.file_type = capinfos_value(ci.out, "File type");
    f.encapsulation = capinfos_value(ci.out, "File encapsulation");

    // One line per frame. TCP reassembly is on (tshark's default), so a request's fields
    // appear in the frame that completes it, with tcp.segment listing its frames.
    const std::vector<std::string> fields{
        "frame.number",     "frame.time_epoch", "tcp.stream",
        "ip.src",           "ipv6.src",         "tcp.srcport",
        "ip.dst",           "ipv6.dst",         "tcp.dstport",
        "tcp.len",          "tcp.flags.syn",    "tcp.flags.fin",
        "tcp.flags.reset",  "vlan.id",          "http.request.method",
        "http.request.uri", "tcp.segment"};
    std::vector<std::string> argv{"tshark", "-n",           "-r", readable.string(),
                                  "-T",     "fields",       "-E", "separator=/t",
                                  "-E",     "occurrence=a", "-E", "aggregator=,"};
    for (const auto& field : fields) {
        argv.push_back("-e");
        argv.push_back(field);
    }
    const CommandResult ts = lab.run("", argv, 120s);
    {
        INFO(ts.describe());
        REQUIRE(ts.ok());
    }

    struct Pending {
        uint64_t first_frame;
        size_t index;  // into f.requests
    };
    std::map<uint32_t, size_t> conn_index;                  // stream -> f.connections
    std::map<uint32_t, std::vector<Pending>> stream_reqs;   // in order
    std::map<uint32_t, std::vector<uint64_t>> server_data;  // frames with server payload
    double first_ts = 0, last_ts = 0;
    for (const auto& line : split_lines(ts.out)) {
        auto v = split(line, '\t');
        v.resize(fields.size());
        ++f.frames;
        const uint64_t frame = std::stoull(v[0]);
        const double t = std::stod(v[1]);
        if (f.frames == 1) {
            first_ts = t;
        }
        last_ts = t;
        f.vlan_frames += v[13].empty() ? 0 : 1;
        if (v[2].empty()) {
            continue;  // not TCP (ARP, ...)
        }
        ++f.tcp_frames;
        const bool v6 = v[3].empty();
        f.ipv6_frames += v6 ? 1 : 0;
        const uint32_t stream = static_cast<uint32_t>(std::stoul(split(v[2], ',')[0]));
        const std::string src = split(v6 ? v[4] : v[3], ',')[0];
        const std::string dst = split(v6 ? v[7] : v[6], ',')[0];
        const std::string sport = split(v[5], ',')[0];
        const std::string dport = split(v[8], ',')[0];
        const uint64_t len = v[9].empty() ? 0 : std::stoull(split(v[9], ',')[0]);
        const bool from_server = sport == std::to_string(server_port);
        f.max_segment = std::max(f.max_segment, len);
        auto [it, fresh] = conn_index.emplace(stream, f.connections.size());
        if (fresh) {
            CapturedConnection c;
            c.stream = stream;
            c.client = from_server ? endpoint(dst, dport) : endpoint(src, sport);
            c.server = from_server ? endpoint(src, sport) : endpoint(dst, dport);
            f.connections.push_back(c);
        }
        CapturedConnection& c = f.connections[it->second];
        if (flag(split(v[10], ',')[0]) && !from_server) {
            c.syn = true;
        }
        if (flag(split(v[11], ',')[0]) || flag(split(v[12], ',')[0])) {
            c.closed = true;
        }
        if (len > 0) {
            if (c.client_bytes == 0 && c.server_bytes == 0) {
                c.server_spoke_first = from_server;
            }
            (from_server ? c.server_bytes : c.client_bytes) += len;
            if (from_server) {
                server_data[stream].push_back(frame);
            }
        }
        if (!v[14].empty() && !from_server) {
            const auto methods = split(v[14], ',');
            const auto uris = split(v[15], ',');
            REQUIRE(methods.size() == uris.size());
            uint64_t first = frame;
            if (!v[16].empty()) {
                for (const auto& seg : split(v[16], ',')) {
                    first = std::min<uint64_t>(first, std::stoull(seg));
                }
            }
            for (size_t i = 0; i < methods.size(); ++i) {
                CapturedRequest r;
                r.stream = stream;
                r.client = c.client;
                r.request = methods[i] + " " + uris[i];
                stream_reqs[stream].push_back(Pending{i == 0 ? first : frame, f.requests.size()});
                f.requests.push_back(r);
                ++c.requests;
            }
        }
    }
    f.span_s = last_ts - first_ts;
    // Answered: server payload after the request's first frame, before the next one's.
    for (auto& [stream, reqs] : stream_reqs) {
        const auto& data = server_data[stream];
        for (size_t i = 0; i < reqs.size(); ++i) {
            const uint64_t from = reqs[i].first_frame;
            const uint64_t to = i + 1 < reqs.size() ? reqs[i + 1].first_frame
                                                    : std::numeric_limits<uint64_t>::max();
            const auto d = std::upper_bound(data.begin(), data.end(), from);
            f.requests[reqs[i].index].answered = d != data.end() && *d < to;
        }
    }
    if (readable != file) {
        fs::remove(readable);
    }
    return f;
}

void require_log_agrees(const CaptureFacts& facts, const std::vector<std::string>& online_log,
                        bool mid_connection) {
    const Conversations logged = conversations(online_log);
    const Conversations captured = facts.conversations();
    if (!mid_connection) {
        INFO("the capture's whole requests (tshark) and the online access log ("
             << online_log.size() << " lines) differ: " << facts.requests.size()
             << " captured requests on " << captured.size() << " connections, " << logged.size()
             << " connections in the log");
        REQUIRE(captured == logged);
        return;
    }
    for (const auto& [client, requests] : captured) {
        INFO("client " << client << ": " << requests.size() << " captured requests, starting with "
                       << requests.front());
        const auto it = logged.find(client);
        REQUIRE(it != logged.end());
        const auto at =
            std::search(it->second.begin(), it->second.end(), requests.begin(), requests.end());
        REQUIRE(at != it->second.end());
    }
}

// ---- Capture ---------------------------------------------------------------------------------

uint64_t Capture::total_commands() const {
    uint64_t n = 0;
    for (const auto& [command, calls] : commands) {
        n += calls;
    }
    return n;
}

std::string keep_in_corpus(const Capture& c) {
    const char* env = std::getenv("TCPR_KEEP_CORPUS");
    if (env == nullptr || *env == '\0') {
        return "";
    }
    const fs::path dir(env);
    std::error_code ec;
    fs::create_directories(dir, ec);
    {
        INFO("TCPR_KEEP_CORPUS=" << dir << " cannot be created: " << ec.message());
        REQUIRE(fs::is_directory(dir));
    }
    const std::string file_name = c.name + (c.format == "archive" ? ".pcap.zst" : "." + c.format);
    fs::copy_file(c.file, dir / file_name, fs::copy_options::overwrite_existing, ec);
    {
        INFO("cannot copy " << c.file << " to " << dir << ": " << ec.message());
        REQUIRE(!ec);
    }
    const CaptureFacts& f = c.facts;
    std::ostringstream t;
    t << "# tcpr fidelity corpus: the ground truth of " << file_name
      << " (tests/integration/fidelity_e2e_test.cpp)\n"
      << "name: " << c.name << "\n"
      << "file: " << file_name << "\n"
      << "format: " << c.format << "\n"
      << "made_by: " << c.description << "\n"
      << "server: " << c.server_address << " port " << c.server_port << "\n"
      << "clients:";
    for (const auto& a : c.client_addresses) {
        t << " " << a;
    }
    char span[32];
    std::snprintf(span, sizeof span, "%.3f", f.span_s);
    t << "\nfile_type: " << f.file_type << "\n"
      << "link_type: " << f.encapsulation << "\n"
      << "frames: " << f.frames << " (" << f.tcp_frames << " TCP, " << f.vlan_frames
      << " VLAN-tagged, " << f.ipv6_frames << " IPv6; largest TCP payload " << f.max_segment
      << " bytes)\n"
      << "recorded_span_s: " << span << "\n"
      << "connections: " << f.connections.size() << "\n"
      << "connections_without_syn: " << f.connections_without_syn() << "\n"
      << "connections_without_client_data: " << f.connections_without_client_data() << "\n"
      << "connections_still_open_at_end: " << f.connections_still_open() << "\n"
      << "sessions: " << f.sessions()
      << " (connections with their SYN, and those without it holding a whole request)\n";
    if (c.http()) {
        t << "whole_requests: " << f.requests.size() << "\n"
          << "answered_requests: " << f.answered() << " (the start of the answer is captured)\n"
          << "connections_with_requests: " << f.connections_with_requests() << "\n"
          << "expected_with_copies_3: " << 3 * f.requests.size()
          << " requests served by the target, " << 3 * f.sessions() << " sessions completed\n";
    } else {
        t << "commands: " << c.total_commands() << "\n";
        for (const auto& [command, calls] : c.commands) {
            t << "command " << command << ": " << calls << "\n";
        }
        t << "expected_with_copies_3: every command count x3 in the target's INFO commandstats, "
          << 3 * f.sessions() << " sessions completed\n";
    }
    t << "counted_by: " << c.counted_by << "\n";
    write_file(dir / (c.name + ".truth.txt"), t.str());
    std::ostringstream r;
    r << "# stream\tclient\trequest\tanswered\n";
    for (const auto& q : f.requests) {
        r << q.stream << "\t" << q.client << "\t" << q.request << "\t" << (q.answered ? 1 : 0)
          << "\n";
    }
    write_file(dir / (c.name + ".requests.tsv"), r.str());
    return dir.string();
}

// ---- capture labs ----------------------------------------------------------------------------

CaptureLab make_capture_lab(NetnsLab& lab, LinkOptions links, bool with_nginx) {
    CaptureLab cl;
    lab.add_host("client");
    lab.add_host("online");
    cl.link = &lab.link("client", "online", links);
    cl.client_addr = cl.link->addr_a;
    cl.online_addr = cl.link->addr_b;
    cl.client_if = cl.link->if_a;
    cl.online_if = cl.link->if_b;
    cl.capture_if = cl.link->if_b;
    if (with_nginx) {
        cl.nginx = &lab.start_nginx("online", cl.online_addr, 80);
    }
    return cl;
}

CaptureLab make_ipv6_capture_lab(NetnsLab& lab) {
    CaptureLab cl = make_capture_lab(lab, LinkOptions(), false);
    // A ULA prefix unique to this lab (the IPv4 subnet's octets in it).
    std::string v4 = cl.link->subnet.substr(3, cl.link->subnet.rfind('.') - 3);  // "77.3"
    std::replace(v4.begin(), v4.end(), '.', ':');
    const std::string prefix = "fd00:" + v4 + "::";
    cl.client_addr = prefix + "1";
    cl.online_addr = prefix + "2";
    for (const auto& [host, ifname, addr] : {std::tuple{"client", cl.client_if, cl.client_addr},
                                             std::tuple{"online", cl.online_if, cl.online_addr}}) {
        const CommandResult r = lab.run(
            "",
            {"ip", "-n", lab.ns(host), "-6", "addr", "add", addr + "/64", "dev", ifname, "nodad"},
            10s);
        INFO(r.describe());
        REQUIRE(r.ok());
    }
    cl.nginx = &lab.start_nginx("online", cl.online_addr, 80);
    return cl;
}

CaptureLab make_vlan_capture_lab(NetnsLab& lab, uint16_t vid) {
    CaptureLab cl = make_capture_lab(lab, LinkOptions(), false);
    const std::string vlan_if_a = cl.client_if + "." + std::to_string(vid);
    const std::string vlan_if_b = cl.online_if + "." + std::to_string(vid);
    const CommandResult probe =
        lab.run("",
                {"ip", "-n", lab.ns("client"), "link", "add", "link", cl.client_if, "name",
                 vlan_if_a, "type", "vlan", "id", std::to_string(vid)},
                10s);
    if (probe.ok()) {
        cl.vlan_kind = "8021q";
        const std::string net = lab.fresh_subnet();
        cl.client_addr = net + ".1";
        cl.online_addr = net + ".2";
        const CommandResult b =
            lab.run("",
                    {"ip", "-n", lab.ns("online"), "link", "add", "link", cl.online_if, "name",
                     vlan_if_b, "type", "vlan", "id", std::to_string(vid)},
                    10s);
        {
            INFO(b.describe());
            REQUIRE(b.ok());
        }
        for (const auto& [host, ifname, addr] : {std::tuple{"client", vlan_if_a, cl.client_addr},
                                                 std::tuple{"online", vlan_if_b, cl.online_addr}}) {
            lab.add_address(host, ifname, addr + "/24");
            const CommandResult up =
                lab.run("", {"ip", "-n", lab.ns(host), "link", "set", ifname, "up"}, 10s);
            INFO(up.describe());
            REQUIRE(up.ok());
        }
        cl.client_if = vlan_if_a;
        cl.online_if = vlan_if_b;  // capture_if stays the parent veth
    } else {
        // No 802.1Q in this kernel: tag every frame of the veth pair with tc programs.
        INFO("cannot create a vlan interface: " << probe.describe());
        REQUIRE(probe.err.find("Unknown device type") != std::string::npos);
        cl.vlan_kind = "tc-bpf";
        const std::string clang = NetnsLab::require_tool(
            "clang",
            "to build the tc program that tags frames with a VLAN where the kernel "
            "has no 802.1Q support (package clang)");
        NetnsLab::require_tool("tc", "to attach the VLAN-tagging program (package iproute2)");
        const fs::path src = lab.path("vlan_tag.c");
        const fs::path obj = lab.path("vlan_tag.o");
        // tc direct-action programs: push an 802.1Q tag on egress, pop it on ingress (packet
        // sockets see a frame before tc ingress and after tc egress, so a capture on the veth
        // sees every frame tagged). Helpers by number: no kernel headers needed.
        write_file(src, std::string("typedef unsigned short u16;\n"
                                    "static long (*skb_vlan_push)(void*, u16, u16) = (void*)18;\n"
                                    "static long (*skb_vlan_pop)(void*) = (void*)19;\n"
                                    "__attribute__((section(\"egress\"), used)) int "
                                    "push(void* skb) {\n"
                                    "    skb_vlan_push(skb, __builtin_bswap16(0x8100), ") +
                            std::to_string(vid) +
                            ");\n"
                            "    return 0;\n"
                            "}\n"
                            "__attribute__((section(\"ingress\"), used)) int "
                            "pop(void* skb) {\n"
                            "    skb_vlan_pop(skb);\n"
                            "    return 0;\n"
                            "}\n"
                            "char _license[] __attribute__((section(\"license\"), used)) = "
                            "\"GPL\";\n");
        const CommandResult cc = lab.run(
            "", {clang, "-O2", "-target", "bpf", "-c", src.string(), "-o", obj.string()}, 60s);
        {
            INFO(cc.describe());
            REQUIRE(cc.ok());
        }
        for (const auto& [host, ifname] :
             {std::pair{"client", cl.client_if}, std::pair{"online", cl.online_if}}) {
            for (const std::vector<std::string>& args :
                 {std::vector<std::string>{"qdisc", "add", "dev", ifname, "clsact"},
                  std::vector<std::string>{"filter", "add", "dev", ifname, "egress", "bpf", "da",
                                           "obj", obj.string(), "sec", "egress"},
                  std::vector<std::string>{"filter", "add", "dev", ifname, "ingress", "bpf", "da",
                                           "obj", obj.string(), "sec", "ingress"}}) {
                std::vector<std::string> argv{"tc", "-n", lab.ns(host)};
                argv.insert(argv.end(), args.begin(), args.end());
                const CommandResult r = lab.run("", argv, 20s);
                INFO(r.describe());
                REQUIRE(r.ok());
            }
        }
    }
    cl.nginx = &lab.start_nginx("online", cl.online_addr, 80);
    return cl;
}

// ---- Recorder --------------------------------------------------------------------------------

Recorder Recorder::tcprec(NetnsLab& lab, const std::string& host, const std::string& iface,
                          uint16_t port, const fs::path& out) {
    Process& p = lab.spawn(
        host, {binary("tcprec"), "-i", iface, "-p", std::to_string(port), "-q", "-o", out.string()},
        "tcprec");
    // The capture is open before the .partial file is created (src/recorder/record.cpp).
    const bool recording =
        wait_until([&] { return fs::exists(out.string() + ".partial") || !p.running(); }, 10s);
    INFO("tcprec did not start recording: " << p.command() << "\n" << p.stderr_text());
    REQUIRE(recording);
    REQUIRE(p.running());
    return Recorder(&p, "tcprec", out);
}

Recorder Recorder::tcpdump(NetnsLab& lab, const std::string& host, const std::string& iface,
                           const std::string& filter, const fs::path& out) {
    NetnsLab::require_tool("tcpdump", "to capture (package tcpdump)");
    // -Z root: write the file as root (the lab's directory is root's only). Immediate mode:
    // packets still in an unretired ring block when tcpdump is interrupted are never written;
    // its ring has one slot per packet of the snaplen's size, so a 4 kB snaplen (more than a
    // frame of these wire-sized links) and a 32 MiB buffer keep the kernel from dropping.
    std::vector<std::string> argv{
        "tcpdump", "-Z",   "root", "--immediate-mode", "-B", "32768", "-i", iface, "-n", "-U",
        "-s",      "4096", "-w",   out.string()};
    if (!filter.empty()) {
        argv.push_back(filter);
    }
    Process& p = lab.spawn(host, argv, "tcpdump");
    const bool listening = wait_until(
        [&] { return !p.running() || p.stderr_text().find("listening on") != std::string::npos; },
        10s);
    INFO("tcpdump did not start: " << p.command() << "\n" << p.stderr_text());
    REQUIRE(listening);
    REQUIRE(p.running());
    return Recorder(&p, "tcpdump", out);
}

void Recorder::stop(milliseconds tail) {
    std::this_thread::sleep_for(tail);
    process_->signal(SIGINT);
    const auto code = process_->wait(10s);
    const std::string err = process_->stderr_text();
    INFO(kind_ << " after SIGINT: " << process_->command() << "\n" << err);
    REQUIRE(code.has_value());
    REQUIRE(*code == 0);
    REQUIRE(fs::exists(out_));
    if (kind_ == "tcprec") {
        REQUIRE(err.find("kernel drops: 0") != std::string::npos);
    } else {
        REQUIRE(err.find("\n0 packets dropped by kernel") != std::string::npos);
    }
}

// ---- the captures ----------------------------------------------------------------------------

namespace {

// Analyses the capture, REQUIREs the online server's log to agree, keeps it in the corpus.
void finish_http_capture(NetnsLab& lab, Capture& c, const CaptureLab& cl, bool mid_connection) {
    c.server_address = cl.online_addr;
    c.client_addresses = {cl.client_addr};
    c.facts = analyze_capture(lab, c.file, c.server_port);
    const auto online_log = lab.access_log_lines(*cl.nginx);
    c.counted_by =
        "tshark's HTTP dissector with TCP reassembly (a request counts when the capture holds its "
        "first and its last bytes; listed in " +
        c.name + ".requests.tsv), " +
        (mid_connection
             ? "each of them found in the online nginx's access log from the same client "
               "endpoint, in order (" +
                   std::to_string(online_log.size()) +
                   " lines there: the capture started and stopped mid-connection)"
             : "equal to the online nginx's access log of the recorded run (" +
                   std::to_string(online_log.size()) + " lines, same requests per connection)");
    require_log_agrees(c.facts, online_log, mid_connection);
    REQUIRE(!c.facts.requests.empty());
    keep_in_corpus(c);
}

std::string url(const CaptureLab& cl, const std::string& path) { return cl.nginx->url(path); }

}  // namespace

Capture capture_curl_keepalive(NetnsLab& lab, const CaptureLab& cl, const std::string& name,
                               bool expect_offload) {
    NetnsLab::require_tool("curl", "as the HTTP client (package curl)");
    Capture c;
    c.name = name;
    c.format = "archive";
    const size_t body_bytes = expect_offload ? 400 * 1024 : 100 * 1024;
    c.description = std::string(expect_offload ? "offloads on (TSO/GSO/GRO: TCP segments of 30 kB "
                                                 "and more, unfilled checksums); "
                                               : "") +
                    "3 keep-alive curl clients, each 3 times one curl of 5 requests on one "
                    "connection (GET /small, /large, /api/u<U>/r<R>, POST of " +
                    std::to_string(body_bytes / 1024) +
                    " kB to /upload, GET /large), 0.7 s apart; recorded live with tcprec -i -p 80";
    c.file = lab.path(name + ".pcap.zst");
    const fs::path body = lab.path(name + "-body.bin");
    write_body(body, body_bytes);
    Recorder rec = Recorder::tcprec(lab, "online", cl.capture_if, 80, c.file);
    std::this_thread::sleep_for(200ms);
    const std::string w = "-sS --max-time 10 -w '%{http_code} %{num_connects}\\n'";
    std::ostringstream s;
    s << "set -e\nuser() {\n  u=$1\n  for r in 1 2 3; do\n"
      << "    curl " << w << " -o /dev/null '" << url(cl, "/small?u=") << "'$u'&r='$r"
      << " -o /dev/null '" << url(cl, "/large?u=") << "'$u'&r='$r"
      << " -o /dev/null '" << url(cl, "/api/u") << "'$u/r$r"
      << " --next " << w << " --data-binary @" << body.string() << " -o /dev/null '"
      << url(cl, "/upload?u=") << "'$u'&r='$r"
      << " --next " << w << " -o /dev/null '" << url(cl, "/large?again=") << "'$u'&r='$r\n"
      << "    sleep 0.7\n  done\n}\n"
      << "user 1 > out1 & p1=$!; sleep 0.2; user 2 > out2 & p2=$!; sleep 0.2; user 3 > out3 & "
         "p3=$!\n"
      << "wait $p1; wait $p2; wait $p3; cat out1 out2 out3\n";
    const CommandResult r =
        lab.run("client", {"bash", "-c", "cd '" + lab.dir().string() + "' && " + s.str()}, 60s);
    rec.stop();
    check_curl_results(r, {"200"}, 3 * 3 * 5, 3 * 3);
    finish_http_capture(lab, c, cl, false);
    REQUIRE(c.facts.requests.size() == 45);
    if (expect_offload) {
        INFO("the capture shows no offloaded segments: largest TCP payload "
             << c.facts.max_segment);
        REQUIRE(c.facts.max_segment >= 30000);
    } else {
        INFO("wire-sized segments expected: largest TCP payload " << c.facts.max_segment);
        REQUIRE(c.facts.max_segment <= 1500);
    }
    return c;
}

Capture capture_ab_empty_idle(NetnsLab& lab, const CaptureLab& cl) {
    const std::string ab = NetnsLab::require_tool("ab", "as a load client (package apache2-utils)");
    NetnsLab::require_tool("nc", "to open empty connections (package netcat-openbsd)");
    Capture c;
    c.name = "ab-empty-idle";
    c.format = "archive";
    c.description =
        "ab -n 100 -c 10 /api/ab?x=1, then ab -n 50 -c 10 /large (HTTP/1.0: the server closes "
        "every connection first, so its side stays in TIME_WAIT), ab's own connections closed "
        "without a request, 7 empty connections (bash /dev/tcp open+close, nc -z), one idle "
        "connection (SYN, nothing sent) still open when the capture stopped; recorded live with "
        "tcprec -i -p 80";
    c.file = lab.path(c.name + ".pcap.zst");
    const std::string a = cl.online_addr;
    Recorder rec = Recorder::tcprec(lab, "online", cl.capture_if, 80, c.file);
    std::this_thread::sleep_for(200ms);
    Process& idle = lab.spawn(
        "client", {"bash", "-c", "exec 3<>/dev/tcp/" + a + "/80; echo open; sleep 60"}, "idle");
    {
        const bool open = wait_until(
            [&] { return !idle.running() || idle.stdout_text().find("open") == 0; }, 10s);
        INFO("the idle connection did not open: " << idle.stderr_text());
        REQUIRE(open);
        REQUIRE(idle.running());
    }
    std::ostringstream s;
    s << "set -e\nempty() { exec 3<>/dev/tcp/" << a << "/80; exec 3>&-; }\n"
      << "sleep 0.2; empty; empty; empty; nc -z " << a << " 80; nc -z " << a << " 80\n"
      << "sleep 0.2\n"
      << ab << " -q -n 100 -c 10 'http://" << a << ":80/api/ab?x=1'\n"
      << "sleep 0.8\n"
      << ab << " -q -n 50 -c 10 'http://" << a << ":80/large'\n"
      << "sleep 0.6; empty; empty; sleep 0.3\n";
    const CommandResult r = client_script(lab, s.str());
    rec.stop();
    idle.kill();  // after the capture: its close is not recorded
    {
        INFO(r.describe());
        CHECK(r.out.find("Complete requests:      100") != std::string::npos);
        CHECK(r.out.find("Complete requests:      50") != std::string::npos);
        CHECK(r.out.find("Failed requests:        0") != std::string::npos);
    }
    finish_http_capture(lab, c, cl, false);
    const CaptureFacts& f = c.facts;
    REQUIRE(f.requests.size() == 150);
    REQUIRE(f.connections_with_requests() == 150);
    REQUIRE(f.connections_without_client_data() >= 8);  // 7 empty + the idle one (+ ab's)
    REQUIRE(f.connections_still_open() == 1);           // the idle one
    REQUIRE(f.connections_without_syn() == 0);
    return c;
}

Capture capture_wrk_midstream(NetnsLab& lab, const CaptureLab& cl) {
    const std::string wrk = NetnsLab::require_tool("wrk", "as a keep-alive load (package wrk)");
    NetnsLab::require_tool("tc", "to shape the answers (package iproute2)");
    Capture c;
    c.name = "wrk-midstream";
    c.format = "archive";
    c.description =
        "wrk -t 2 -c 4 -d 6s, lua cycling /small?t=T&n=N, /large?t=T&n=N, /api/x?id=T-N (every "
        "URI unique, 20 ms between a connection's requests), answers shaped to 40 Mbit/s (tbf); "
        "tcprec -i -p 80 started 1.2 s after wrk opened its 4 keep-alive connections and "
        "stopped 3 s later while all were still open (no SYN, no FIN; captures start in the "
        "middle of answers)";
    c.file = lab.path(c.name + ".pcap.zst");
    const fs::path script = lab.path("mix.lua");
    write_file(script, std::string("local threads = {}\n"
                                   "function setup(thread)\n"
                                   "  thread:set(\"tid\", #threads + 1)\n"
                                   "  table.insert(threads, thread)\n"
                                   "end\n"
                                   "function init(args) n = 0 end\n"
                                   "function delay() return 20 end\n"
                                   "function request()\n"
                                   "  n = n + 1\n"
                                   "  local k = n % 3\n"
                                   "  local p\n"
                                   "  if k == 0 then p = \"/small?t=\" .. tid .. \"&n=\" .. n\n"
                                   "  elseif k == 1 then p = \"/large?t=\" .. tid .. \"&n=\" .. n\n"
                                   "  else p = \"/api/x?id=\" .. tid .. \"-\" .. n end\n"
                                   "  return wrk.format(\"GET\", p)\n"
                                   "end\n"));
    const CommandResult tbf =
        lab.run("",
                {"tc", "-n", lab.ns("online"), "qdisc", "add", "dev", cl.capture_if, "root", "tbf",
                 "rate", "40mbit", "burst", "32kb", "latency", "300ms"},
                10s);
    {
        INFO(tbf.describe());
        REQUIRE(tbf.ok());
    }
    Process& load = lab.spawn("client",
                              {wrk, "-t", "2", "-c", "4", "-d", "6s", "--timeout", "5s", "-s",
                               script.string(), "http://" + cl.online_addr + ":80"},
                              "wrk");
    std::this_thread::sleep_for(1200ms);
    {
        INFO("wrk ended early: " << load.stdout_text() << load.stderr_text());
        REQUIRE(load.running());
    }
    Recorder rec = Recorder::tcprec(lab, "online", cl.capture_if, 80, c.file);
    std::this_thread::sleep_for(2500ms);
    rec.stop();  // + 0.5 s: about 3 s recorded, wrk goes on until 6 s
    {
        INFO("wrk ended before the capture stopped: " << load.stdout_text());
        REQUIRE(load.running());
    }
    const auto code = load.wait(20s);
    {
        INFO("wrk: " << load.command() << "\n" << load.stdout_text() << load.stderr_text());
        REQUIRE(code == std::optional<int>(0));
        REQUIRE(load.stdout_text().find("Non-2xx") == std::string::npos);
    }
    finish_http_capture(lab, c, cl, true);
    const CaptureFacts& f = c.facts;
    REQUIRE(f.connections.size() == 4);
    REQUIRE(f.connections_without_syn() == 4);
    REQUIRE(f.connections_still_open() == 4);
    const auto mid_answer =
        std::count_if(f.connections.begin(), f.connections.end(),
                      [](const CapturedConnection& k) { return k.server_spoke_first; });
    INFO("no connection's capture starts in the middle of an answer");
    REQUIRE(mid_answer >= 1);
    return c;
}

Capture capture_cooked_any(NetnsLab& lab, const CaptureLab& cl) {
    NetnsLab::require_tool("curl", "as the HTTP client (package curl)");
    Capture c;
    c.name = "cooked-any";
    c.format = "archive";
    c.description =
        "tcpdump -i any 'tcp port 80' (Linux cooked link type) on the online host, imported with "
        "tcprec -r: 2 keep-alive curl clients, each twice one curl of 5 requests (GET "
        "/api/c<U>/<R>, GET /missing (404), GET /large, HEAD /large, GET /small), 0.7 s apart";
    const fs::path pcap = lab.path("cooked-any.pcap");
    c.file = lab.path(c.name + ".pcap.zst");
    Recorder rec = Recorder::tcpdump(lab, "online", "any", "tcp port 80", pcap);
    std::this_thread::sleep_for(200ms);
    const std::string w = "-sS --max-time 10 -w '%{http_code} %{num_connects}\\n'";
    std::ostringstream s;
    s << "set -e\nuser() {\n  u=$1\n  for r in 1 2; do\n"
      << "    curl " << w << " -o /dev/null '" << url(cl, "/api/c") << "'$u/$r"
      << " -o /dev/null '" << url(cl, "/missing-") << "'$u-$r"
      << " -o /dev/null '" << url(cl, "/large?u=") << "'$u'&r='$r"
      << " --next " << w << " -I -o /dev/null '" << url(cl, "/large?head=") << "'$u'&r='$r"
      << " --next " << w << " -o /dev/null '" << url(cl, "/small?u=") << "'$u'&r='$r\n"
      << "    sleep 0.7\n  done\n}\n"
      << "user 1 > out1 & p1=$!; sleep 0.3; user 2 > out2 & p2=$!\n"
      << "wait $p1; wait $p2; cat out1 out2\n";
    const CommandResult r =
        lab.run("client", {"bash", "-c", "cd '" + lab.dir().string() + "' && " + s.str()}, 60s);
    rec.stop();
    check_curl_results(r, {"200", "404", "200", "200", "200"}, 2 * 2 * 5, 2 * 2);
    const CommandResult imp =
        lab.run("", {binary("tcprec"), "-r", pcap.string(), "-o", c.file.string(), "-q"}, 60s);
    {
        INFO(imp.describe());
        REQUIRE(imp.ok());
    }
    finish_http_capture(lab, c, cl, false);
    REQUIRE(c.facts.requests.size() == 20);
    INFO("link type " << c.facts.encapsulation);
    REQUIRE(c.facts.encapsulation.find("Linux cooked") != std::string::npos);
    return c;
}

Capture capture_vlan_pcapng(NetnsLab& lab, const CaptureLab& cl) {
    NetnsLab::require_tool("curl", "as the HTTP client (package curl)");
    const std::string ab = NetnsLab::require_tool("ab", "as a load client (package apache2-utils)");
    const std::string editcap =
        NetnsLab::require_tool("editcap", "to convert to pcapng (package wireshark-common)");
    Capture c;
    c.name = "vlan-pcapng";
    c.format = "pcapng";
    c.description = "802.1Q-tagged frames (VLAN 100, " + cl.vlan_kind +
                    ") captured with tcpdump on the parent interface, converted with editcap -F "
                    "pcapng and replayed as it is: 2 keep-alive curl clients, each twice one curl "
                    "of 4 requests (GET /small, /api/v<U>/<R>, /large, POST 20 kB to /upload), "
                    "and ab -n 30 -c 5 /api/ab?vlan=1";
    const fs::path pcap = lab.path("vlan.pcap");
    c.file = lab.path(c.name + ".pcapng");
    const fs::path body = lab.path("vlan-body.bin");
    write_body(body, 20 * 1024);
    Recorder rec = Recorder::tcpdump(lab, "online", cl.capture_if, "", pcap);
    std::this_thread::sleep_for(200ms);
    const std::string w = "-sS --max-time 10 -w '%{http_code} %{num_connects}\\n'";
    std::ostringstream s;
    s << "set -e\nuser() {\n  u=$1\n  for r in 1 2; do\n"
      << "    curl " << w << " -o /dev/null '" << url(cl, "/small?v=") << "'$u'&r='$r"
      << " -o /dev/null '" << url(cl, "/api/v") << "'$u/$r"
      << " -o /dev/null '" << url(cl, "/large?v=") << "'$u'&r='$r"
      << " --next " << w << " --data-binary @" << body.string() << " -o /dev/null '"
      << url(cl, "/upload?v=") << "'$u'&r='$r\n"
      << "    sleep 0.6\n  done\n}\n"
      << "user 1 > out1 & p1=$!; sleep 0.3; user 2 > out2 & p2=$!\n"
      << "sleep 0.4; " << ab << " -q -n 30 -c 5 'http://" << cl.online_addr
      << ":80/api/ab?vlan=1' > ab.out\n"
      << "wait $p1; wait $p2; cat out1 out2\n";
    const CommandResult r =
        lab.run("client", {"bash", "-c", "cd '" + lab.dir().string() + "' && " + s.str()}, 60s);
    rec.stop();
    check_curl_results(r, {"200"}, 2 * 2 * 4, 2 * 2);
    require_recorded_run_ok(lab.run("", {"cat", lab.path("ab.out").string()}, 10s),
                            "Complete requests:      30");
    const CommandResult conv =
        lab.run("", {editcap, "-F", "pcapng", pcap.string(), c.file.string()}, 60s);
    {
        INFO(conv.describe());
        REQUIRE(conv.ok());
    }
    finish_http_capture(lab, c, cl, false);
    const CaptureFacts& f = c.facts;
    REQUIRE(f.requests.size() == 16 + 30);
    INFO("file type " << f.file_type << "; " << f.vlan_frames << " of " << f.frames
                      << " frames VLAN-tagged");
    REQUIRE(f.file_type.find("pcapng") != std::string::npos);
    REQUIRE(f.vlan_frames >= f.tcp_frames);
    REQUIRE(f.tcp_frames > 0);
    return c;
}

Capture capture_ipv6(NetnsLab& lab, const CaptureLab& cl) {
    NetnsLab::require_tool("curl", "as the HTTP client (package curl)");
    Capture c;
    c.name = "ipv6";
    c.format = "archive";
    c.ipv6 = true;
    c.description =
        "IPv6 (fd00::/8 addresses): 2 keep-alive curl clients, each twice one curl of 4 requests "
        "(GET /small, /api/six/<U>/<R>, /large, POST 50 kB to /upload), 0.6 s apart, and 6 "
        "single-request connections; recorded live with tcprec -i -p 80";
    c.file = lab.path(c.name + ".pcap.zst");
    const fs::path body = lab.path("v6-body.bin");
    write_body(body, 50 * 1024);
    Recorder rec = Recorder::tcprec(lab, "online", cl.capture_if, 80, c.file);
    std::this_thread::sleep_for(200ms);
    const std::string w = "-g -sS --max-time 10 -w '%{http_code} %{num_connects}\\n'";
    std::ostringstream s;
    s << "set -e\nuser() {\n  u=$1\n  for r in 1 2; do\n"
      << "    curl " << w << " -o /dev/null '" << url(cl, "/small?six=") << "'$u'&r='$r"
      << " -o /dev/null '" << url(cl, "/api/six/") << "'$u/$r"
      << " -o /dev/null '" << url(cl, "/large?six=") << "'$u'&r='$r"
      << " --next " << w << " --data-binary @" << body.string() << " -o /dev/null '"
      << url(cl, "/upload?six=") << "'$u'&r='$r\n"
      << "    sleep 0.6\n  done\n}\n"
      << "user 1 > out1 & p1=$!; sleep 0.3; user 2 > out2 & p2=$!\n"
      << "for i in 1 2 3 4 5 6; do curl " << w << " -o /dev/null '" << url(cl, "/api/single/")
      << "'$i >> out3; sleep 0.15; done\n"
      << "wait $p1; wait $p2; cat out1 out2 out3\n";
    const CommandResult r =
        lab.run("client", {"bash", "-c", "cd '" + lab.dir().string() + "' && " + s.str()}, 60s);
    rec.stop();
    check_curl_results(r, {"200"}, 2 * 2 * 4 + 6, 2 * 2 + 6);
    finish_http_capture(lab, c, cl, false);
    REQUIRE(c.facts.requests.size() == 22);
    INFO(c.facts.ipv6_frames << " of " << c.facts.tcp_frames << " TCP frames are IPv6");
    REQUIRE(c.facts.ipv6_frames == c.facts.tcp_frames);
    return c;
}

Capture capture_redis(NetnsLab& lab, const CaptureLab& cl) {
    const std::string benchmark =
        NetnsLab::require_tool("redis-benchmark", "as the Redis client (package redis-tools)");
    Capture c;
    c.name = "redis";
    c.format = "archive";
    c.server_port = 6379;
    c.description =
        "redis-benchmark -n 200 -c 4 -P 1 four times, -t set, get, incr and lpush, 0.4 s apart, "
        "against a fresh redis-server (plus its own CONFIG GET queries, pipelined in pairs), "
        "recorded live with tcprec -i -p 6379 around the whole run";
    c.file = lab.path(c.name + ".pcap.zst");
    start_redis(lab, "online", cl.online_addr, "redis-online");
    Recorder rec = Recorder::tcprec(lab, "online", cl.capture_if, 6379, c.file);
    std::this_thread::sleep_for(200ms);
    for (const std::string test : {"set", "get", "incr", "lpush"}) {
        const CommandResult bench = lab.run("client",
                                            {benchmark, "-h", cl.online_addr, "-p", "6379", "-n",
                                             "200", "-c", "4", "-t", test, "-P", "1", "-q"},
                                            60s);
        INFO(bench.describe());
        REQUIRE(bench.ok());
        if (test != "lpush") {
            std::this_thread::sleep_for(400ms);
        }
    }
    rec.stop();
    c.server_address = cl.online_addr;
    c.client_addresses = {cl.client_addr};
    c.commands = redis_command_calls(lab, "online", cl.online_addr);
    for (const char* command : {"set", "get", "incr", "lpush"}) {
        INFO("the online redis executed "
             << command << " " << (c.commands.count(command) ? c.commands.at(command) : 0)
             << " times, not -n 200");
        REQUIRE(c.commands.count(command) == 1);
        REQUIRE(c.commands.at(command) == 200);
    }
    c.facts = analyze_capture(lab, c.file, c.server_port);
    REQUIRE(c.facts.connections_without_syn() == 0);
    REQUIRE(c.facts.connections_still_open() == 0);
    c.counted_by =
        "INFO commandstats of the online redis-server (fresh, so it counts exactly the "
        "recorded run; the capture holds every connection from SYN to FIN)";
    keep_in_corpus(c);
    return c;
}

// ---- Redis -----------------------------------------------------------------------------------

Process& start_redis(NetnsLab& lab, const std::string& host, const std::string& address,
                     const std::string& name) {
    const fs::path dir = lab.path(name);
    fs::create_directories(dir);
    Process& p = lab.spawn(
        host,
        {NetnsLab::require_tool("redis-server",
                                "as the Redis test server "
                                "(package redis-server)"),
         "--bind", address, "--port", "6379", "--protected-mode", "no", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--dir", dir.string(), "--logfile", ""},
        name);
    const bool up = wait_until(
        [&] { return !p.running() || NetnsLab::listening(p.pid(), address, 6379); }, 10s);
    INFO("redis-server did not start listening on " << address << ":6379 in " << host
                                                    << "\nstderr: " << p.stderr_text()
                                                    << "\nstdout: " << p.stdout_text());
    REQUIRE(up);
    REQUIRE(p.running());
    return p;
}

std::map<std::string, uint64_t> redis_command_calls(NetnsLab& lab, const std::string& host,
                                                    const std::string& address) {
    const CommandResult r = lab.run(host,
                                    {NetnsLab::require_tool("redis-cli",
                                                            "to read redis' statistics (package "
                                                            "redis-tools)"),
                                     "-h", address, "-p", "6379", "INFO", "commandstats"},
                                    20s);
    INFO(r.describe());
    REQUIRE(r.ok());
    std::map<std::string, uint64_t> calls;
    for (std::string line : split_lines(r.out)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        // cmdstat_set:calls=200,usec=...,rejected_calls=0,failed_calls=0
        if (line.rfind("cmdstat_", 0) != 0) {
            continue;
        }
        const auto colon = line.find(':');
        const auto eq = line.find("calls=", colon);
        REQUIRE(colon != std::string::npos);
        REQUIRE(eq == colon + 1);
        const std::string command = line.substr(8, colon - 8);
        if (command == "info") {
            continue;  // our own queries
        }
        calls[command] = std::stoull(line.substr(eq + 6));
    }
    return calls;
}

}  // namespace tcpr::test
