#include "replayer/cli/options.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "common/base/error.h"
#include "common/base/parse.h"
#include "common/os/auth.h"
#include "common/os/metrics_server.h"
#include "common/os/resolve.h"
#include "common/wire/intercept_protocol.h"

namespace tcpr::replay {
namespace {

[[noreturn]] void bad(const std::string& option, const std::string& text, const char* expected) {
    throw Error(ErrorKind::Usage,
                "bad value '" + text + "' for " + option + " (expected " + expected + ")");
}

double parse_number(const std::string& text, const std::string& option, const char* expected) {
    size_t pos = 0;
    double v = 0;
    try {
        v = std::stod(text, &pos);
    } catch (const std::exception&) {
        bad(option, text, expected);
    }
    if (pos != text.size() || !std::isfinite(v)) {
        bad(option, text, expected);
    }
    return v;
}

// --report FORMAT FILE or --report FILE (json), each given at most once per format.
void parse_reports(const std::vector<std::vector<std::string>>& reports, ReplayOptions& o) {
    for (const auto& args : reports) {
        if (args.empty() || args.size() > 2) {
            throw Error(ErrorKind::Usage, "--report takes FORMAT FILE or FILE (json)");
        }
        const std::string format = args.size() == 2 ? args[0] : "json";
        const std::string& file = args.back();
        if (args.size() == 1 && (file == "json" || file == "html" || file == "requests")) {
            throw Error(ErrorKind::Usage,
                        "--report " + file + ": give the file: --report " + file + " FILE");
        }
        std::string* target = format == "json"       ? &o.report_json
                              : format == "html"     ? &o.report_html
                              : format == "requests" ? &o.report_requests
                                                     : nullptr;
        if (target == nullptr) {
            throw Error(ErrorKind::Usage,
                        "--report " + format + ": the report formats are json, html and requests");
        }
        if (!target->empty()) {
            throw Error(ErrorKind::Usage, "--report " + format + " given twice");
        }
        *target = file;
    }
}

}  // namespace

Shard parse_shard(const std::string& text, const char* env_index, const char* env_count) {
    constexpr uint32_t kMaxShards = 1000;  // each shard has 1/N of the client ports
    const auto number = [&](const std::string& v, const std::string& what) {
        uint32_t n = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
            throw Error(ErrorKind::Usage, "--shard " + text + ": " + what + " '" + v +
                                              "' is not a whole number (expected I/N, auto "
                                              "or auto/N)");
        }
        return n;
    };
    const size_t slash = text.find('/');
    const std::string first = text.substr(0, slash);
    const std::string second = slash == std::string::npos ? std::string() : text.substr(slash + 1);
    Shard sh;
    if (first == "auto") {
        if (env_index == nullptr || *env_index == '\0') {
            throw Error(ErrorKind::Usage,
                        "--shard auto: JOB_COMPLETION_INDEX is not set (it is set in the pods of "
                        "a Kubernetes Job with completionMode: Indexed)");
        }
        sh.index = number(env_index, "JOB_COMPLETION_INDEX");
        if (slash != std::string::npos) {
            sh.count = number(second, "N");
        } else if (env_count != nullptr && *env_count != '\0') {
            sh.count = number(env_count, "TCPR_SHARDS");
        } else {
            throw Error(ErrorKind::Usage,
                        "--shard auto: the number of shards is unknown: set TCPR_SHARDS (the "
                        "Job's completions) or give --shard auto/N");
        }
    } else {
        if (slash == std::string::npos) {
            throw Error(ErrorKind::Usage,
                        "--shard " + text + ": expected I/N (0 <= I < N), auto or auto/N");
        }
        sh.index = number(first, "I");
        sh.count = number(second, "N");
    }
    if (sh.count == 0 || sh.count > kMaxShards) {
        throw Error(ErrorKind::Usage, "--shard " + text + ": N must be 1 to " +
                                          std::to_string(kMaxShards) + ", not " +
                                          std::to_string(sh.count));
    }
    if (sh.index >= sh.count) {
        throw Error(ErrorKind::Usage, "--shard " + text + ": shard " + std::to_string(sh.index) +
                                          " does not exist: shards are numbered 0 to " +
                                          std::to_string(sh.count - 1));
    }
    return sh;
}

uint32_t parse_speed(const std::string& text, const std::string& option) {
    constexpr const char* kExpected = "a factor such as 0.5x, 1x, 2x, or max";
    if (text == "max" || text == "MAX" || text == "topspeed") {
        return 0;
    }
    std::string t = text;
    if (!t.empty() && (t.back() == 'x' || t.back() == 'X')) {
        t.pop_back();
    }
    const double v = parse_number(t, option, kExpected);
    if (v < 0.001 || v > 1000.0) {
        bad(option, text, "a factor between 0.001x and 1000x, or max");
    }
    return static_cast<uint32_t>(std::llround(v * 1000.0));
}

double parse_percent(const std::string& text, const std::string& option) {
    std::string t = text;
    if (!t.empty() && t.back() == '%') {
        t.pop_back();
    }
    const double v = parse_number(t, option, "a percentage such as 25%");
    if (v < 0 || v > 100) {
        bad(option, text, "a percentage between 0% and 100%");
    }
    return v;
}

std::pair<uint16_t, net::Endpoint> parse_tcpcopy_mapping(const std::string& text) {
    constexpr const char* kExpected = "PORT-TARGET_IP:PORT, as tcpcopy's -x 80-192.168.0.246:80";
    if (text.find(',') != std::string::npos) {
        throw Error(ErrorKind::Usage, "-x '" + text +
                                          "': one mapping only (replay one port "
                                          "per run; run one tcpreplay2 per port)");
    }
    // The target part starts after the last '-' that is followed by an address.
    const auto dash = text.find('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 >= text.size()) {
        bad("-x", text, kExpected);
    }
    const std::string left = text.substr(0, dash), right = text.substr(dash + 1);
    // Left: "80" or "10.0.0.1:80" (the online address, irrelevant when replaying an archive).
    const auto colon = left.rfind(':');
    const uint16_t port =
        parse_port(colon == std::string::npos ? left : left.substr(colon + 1), "-x");
    const net::Endpoint target = os::resolve_endpoint(right, 0, "-x");
    return {port, target};
}

void parse_sessions(const std::string& text, Selection& s) {
    constexpr const char* kExpected =
        "comma-separated FROM-TO offsets (10m-20m), client networks (10.1.0.0/16) or a "
        "sample (25%)";
    size_t start = 0;
    while (start <= text.size()) {
        const auto comma = text.find(',', start);
        const std::string item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? text.size() + 1 : comma + 1;
        if (item.empty()) {
            bad("--sessions", text, kExpected);
        }
        if (item.back() == '%') {
            s.sample_percent = parse_percent(item, "--sessions");
        } else if (item.find('/') != std::string::npos) {
            const auto c = Cidr::parse(item);
            if (!c) {
                bad("--sessions", item, "a client network such as 10.1.0.0/16");
            }
            s.client_nets.push_back(*c);
        } else if (item.find('-') != std::string::npos) {
            const auto dash = item.find('-');
            const std::string from = item.substr(0, dash), to = item.substr(dash + 1);
            s.from_ns =
                from.empty()
                    ? 0
                    : static_cast<uint64_t>(parse_duration(from, "--sessions", true).count());
            if (to.empty()) {
                s.to_ns.reset();
            } else {
                s.to_ns = static_cast<uint64_t>(parse_duration(to, "--sessions").count());
                if (*s.to_ns <= s.from_ns) {
                    bad("--sessions", item, "a window whose end is after its start");
                }
            }
        } else {
            bad("--sessions", item, kExpected);
        }
    }
}

CommandLine::CommandLine(CLI::App& app) : app_(app) {
    app.footer(
        "Examples:\n"
        "  tcpreplay2 --in monday.pcap.zst --target 192.168.0.246:80 --intercept 192.168.0.247 "
        "--speed 2x --copies 3\n"
        "  tcpreplay2 --in capture.pcap -x 80-192.168.0.246:80 -s 192.168.0.247 -n 2\n"
        "  tcpreplay2 -i eth0 -p 80 --target 192.168.0.246:80 --intercept 192.168.0.247 "
        "--record monday.pcap.zst   (live)\n"
        "  tcpreplay2 --merge-reports all.json shard1.json shard2.json --report html all.html   "
        "(merge shard reports)\n"
        "Exit codes: 0 ok, 1 error, 2 usage, 3 more failed sessions than --max-failed. "
        "See docs/replay.md.");
    app.add_option("--in,-r", o_.inputs,
                   "Archives (.pcap.zst) or pcap/pcapng files to replay, or glob patterns "
                   "('web-*.pcap.zst', quoted), replayed as one recording merged by time "
                   "(without it: live passthrough of -p PORT on -i IFACE)")
        ->expected(1, -1)
        ->type_name("FILE...");
    app.add_option("--target,-t", target_text_, "The test server: IP:PORT (or HOST:PORT)");
    app.add_option("-x", tcpcopy_text_, "tcpcopy's PORT-TARGET_IP:PORT (sets --port and --target)");
    app.add_option("--intercept,-s", intercept_text_,
                   "intercept's HOST[:PORT] (port " + std::to_string(wire::kDefaultPort) +
                       "; default: the target's host, where a single-host deployment runs it)");
    app.add_option("--metrics", metrics_text_,
                   "Serve Prometheus metrics on http://ADDR:PORT/metrics (e.g. 127.0.0.1:9464)");
    app.add_option("--auth-key", auth_key_path_,
                   "A copy of the key file of intercept's --auth-key (not readable by every "
                   "user), proved to intercept");
    user_opt_ = app.add_option("-Z,--user", o_.user,
                               "Started as root: once the capture, the packet sender and the "
                               "input are open, become this user, with no capability; outputs "
                               "are written as it (default nobody; -Z root keeps root)");
    app.add_option("--transport", transport_text_,
                   "How sessions reach the target: raw (forged packets + intercept) or socket "
                   "(ordinary connections, no root)")
        ->check(CLI::IsMember({"raw", "socket"}))
        ->default_str("raw");
    app.add_option("--diff", o_.diff_file,
                   "With --transport socket: write the responses that differ from the recording "
                   "(status line or length) to this file");
    app.add_flag("--no-compare", no_compare_,
                 "No comparison per endpoint (latency recorded vs replayed, status lines by "
                 "endpoint): less CPU per request");
    app.add_option("--endpoint-bytes", o_.builder.endpoints.prefix_bytes,
                   "Requests of no known protocol (not HTTP/1.x, not Redis) are grouped by their "
                   "first N bytes (default 16)")
        ->check(CLI::Range(size_t{1}, kEndpointScanBytes));
    app.add_option("--ignore", o_.noise_rules.ignore_body,
                   "A regex (RE2) whose matches in answer bodies are not compared "
                   "(repeatable): a timestamp, an id")
        ->type_name("REGEX");
    app.add_option("--ignore-json", o_.noise_rules.ignore_json,
                   "A JSON path removed from JSON bodies before they are compared (repeatable): "
                   "$.meta.request_id, $.items[*].ts, $..trace")
        ->type_name("PATH");
    app.add_option("--ignore-header", o_.noise_rules.ignore_headers,
                   "A header not compared (repeatable; Date, ETag, Server, Set-Cookie, request "
                   "ids and the like are ignored by default: docs/replay.md)")
        ->type_name("NAME");
    app.add_option("--compare-header", o_.noise_rules.compare_headers,
                   "A header compared although ignored by default (repeatable)")
        ->type_name("NAME");
    app.add_option("--inject", inject_text_,
                   "Packet sender: raw (IP_HDRINCL socket) or pcap (pcap_inject on -i)")
        ->check(CLI::IsMember({"raw", "pcap"}));
    app.add_option("-i,--interface", o_.interface,
                   "Live passthrough: capture on this interface (default any); also the "
                   "interface for --inject pcap");
    app.add_option("--next-hop-mac", o_.next_hop_mac,
                   "With --inject pcap on Ethernet: destination MAC (default: from the ARP "
                   "table)");
    app.add_option("--speed", speed_text_, "0.5x, 1x, 2x, ... or max (default 1x)");
    app.add_option("--copies,-n", o_.copies, "Copies of every session (default 1)")
        ->check(CLI::Range(1u, 10000u));
    app.add_option("--loop", o_.loops, "Replay the whole input N times (default 1)")
        ->check(CLI::Range(1u, 1000000u));
    app.add_option("--port,-p", port_text_,
                   "Recorded server port to replay (default: the archive's busiest)");
    app.add_option("--sessions", sessions_text_,
                   "Select sessions: FROM-TO offsets, client CIDR, or P% (comma-separated, "
                   "repeatable)");
    app.add_option("--sample", sample_text_, "Replay this share of sessions (e.g. 30%)");
    app.add_option("--shard", shard_text_,
                   "Replay only shard I of N (0 <= I < N): the sessions whose recorded client "
                   "hashes to it, with client ports no other shard uses. 'auto' reads I from "
                   "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) and N from TCPR_SHARDS; "
                   "auto/N takes N from here")
        ->type_name("I/N|auto[/N]");
    app.add_option("--duration", duration_text_, "Start no session after this long (10m, 1h)");
    app.add_option("--start-at", start_at_text_,
                   "Start the replay at this wall-clock time (RFC 3339, e.g. "
                   "2026-12-07T01:00:00Z, or Unix seconds): replayers given the same time start "
                   "together (their clocks synchronised, e.g. by NTP)")
        ->type_name("TIME");
    app.add_option("--timeout", timeout_text_,
                   "A session waiting on the target this long is reset (default 30s)");
    app.add_option("--report", report_args_,
                   "Write the report: --report json FILE, --report html FILE (one page, "
                   "opens offline), --report requests FILE (every answer recorded vs replayed, "
                   "JSON lines); repeatable (--report json r.json --report html r.html); "
                   "--report FILE is json")
        ->expected(1, 2)
        ->type_name("[json|html|requests] FILE");
    merge_opt_ =
        app.add_option("--merge-reports", merge_args_,
                       "Replay nothing: merge the --report json files of shards (replayers each "
                       "given part of one recording) into OUT, as one run would have written it: "
                       "counts add, latency histograms merge exactly, wall time is the longest "
                       "shard's; with --report html FILE also the page")
            ->expected(1, -1)
            ->type_name("OUT IN");
    app.add_option("--max-failed", max_failed_text_,
                   "Exit 3 when more sessions than this failed (default 1%)");
    app.add_option("--client-pool", pool_text_,
                   "Client addresses for copies from this network (default: port shift)");
    max_active_opt_ = app.add_option("--max-active", o_.max_active,
                                     "At most this many concurrent sessions (default 100000; "
                                     "with --speed max, 256)")
                          ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}));
    app.add_option("--mtu", o_.mtu, "Path MTU toward the target (default 1500)")
        ->check(CLI::Range(576, 65535));
    app.add_option("--request-gap", request_gap_text_,
                   "A client pause this long starts a new request (default 1s, 0 = never)");
    app.add_flag("--no-ack-split", no_ack_split_,
                 "Do not start a new request where the recorded client's ack moved");
    app.add_flag("--no-request-start-guess", no_start_guess_,
                 "A connection captured without its handshake starts only after an answer or "
                 "a pause, not at bytes that look like an HTTP or Redis request");
    app.add_option("--linger", linger_text_,
                   "Keep a used client tuple reserved this long (default 60s)");
    app.add_flag("--in-memory", o_.in_memory,
                 "Read the whole input before replaying (memory grows with the input; default: "
                 "read it while replaying, a little ahead)");
    app.add_flag("--dry-run", o_.dry_run,
                 "Print the sessions and requests that would be replayed; send nothing");
    app.add_flag("-v,--verbose", o_.verbosity, "More diagnostics (-vv: debug)");
    app.add_flag("-q,--quiet", o_.quiet, "No progress line, only errors and the summary");
    live_cli_.add(app, o_.live);
    app.set_version_flag("--version", std::string("tcpreplay2 ") + TCPR_VERSION);
}

std::optional<MergeReportsOptions> CommandLine::merge_options() const {
    if (merge_opt_->count() == 0) {
        return std::nullopt;
    }
    for (const CLI::Option* opt : app_.get_options()) {
        const std::string name = opt->get_name();
        if (opt == merge_opt_ || opt->count() == 0 || name == "--report" || name == "--verbose" ||
            name == "--quiet") {
            continue;
        }
        throw Error(ErrorKind::Usage, "--merge-reports replays nothing: it cannot go with " + name +
                                          " (give only OUT, the reports and --report html)");
    }
    ReplayOptions reports;
    parse_reports(report_args_, reports);
    if (!reports.report_json.empty() || !reports.report_requests.empty()) {
        throw Error(ErrorKind::Usage,
                    "--merge-reports writes its JSON report to OUT: only --report html FILE goes "
                    "with it");
    }
    MergeReportsOptions m;
    m.out_json = merge_args_.front();
    m.inputs.assign(merge_args_.begin() + 1, merge_args_.end());
    m.out_html = reports.report_html;
    m.verbosity = o_.verbosity;
    m.quiet = o_.quiet;
    return m;
}

ReplayOptions CommandLine::options() {
    ReplayOptions o = o_;
    for (const std::string& in : o.inputs) {
        o.input += (o.input.empty() ? "" : " ") + in;
    }
    if (!shard_text_.empty()) {
        const Shard sh = parse_shard(shard_text_, std::getenv("JOB_COMPLETION_INDEX"),
                                     std::getenv("TCPR_SHARDS"));
        o.shard = sh.index;
        o.shards = sh.count;
        o.builder.selection.shard = sh.index;
        o.builder.selection.shards = sh.count;
        if (o.inputs.empty()) {
            throw Error(ErrorKind::Usage,
                        "--shard splits a recording: it needs --in (live passthrough copies "
                        "what one host sees)");
        }
    }
    if (!tcpcopy_text_.empty()) {
        if (!target_text_.empty()) {
            throw Error(ErrorKind::Usage, "give either -x or --target, not both");
        }
        const auto [port, target] = parse_tcpcopy_mapping(tcpcopy_text_);
        o.target = target;
        if (port_text_.empty()) {
            o.builder.selection.server_port = port;
        }
    } else if (target_text_.empty()) {
        throw Error(ErrorKind::Usage, "no target: give --target IP:PORT (or tcpcopy's -x)");
    } else {
        o.target = os::resolve_endpoint(target_text_, 0, "--target");
    }
    if (!intercept_text_.empty()) {
        o.intercept = os::resolve_endpoint(intercept_text_, wire::kDefaultPort, "--intercept");
    } else if (transport_text_ != "socket") {
        // The single-host deployment: intercept on the target's host, at its default port.
        o.intercept = net::Endpoint{o.target.addr, wire::kDefaultPort};
        o.intercept_by_default = true;
    }
    if (!metrics_text_.empty()) {
        o.metrics = os::parse_metrics_endpoint(metrics_text_, "--metrics");
    }
    if (!auth_key_path_.empty()) {
        o.auth_key = os::read_auth_key(auth_key_path_, "--auth-key");
    }
    o.user_given = user_opt_->count() > 0;
    o.speed_milli = parse_speed(speed_text_, "--speed");
    o.transport = transport_text_ == "socket" ? TransportMode::Socket : TransportMode::Raw;
    o.inject = inject_text_ == "pcap" ? InjectMode::Pcap : InjectMode::RawSocket;
    if (o.speed_milli == 0 && max_active_opt_->count() == 0) {
        // Without recorded timing, nothing else bounds how many sessions are open at once: a
        // burst of thousands overflows a target's accept queue (nginx's backlog is 511) and
        // connection table (worker_connections), and it drops or closes what it cannot take.
        o.max_active = kMaxSpeedActive;
    }
    if (!port_text_.empty()) {
        o.builder.selection.server_port = parse_port(port_text_, "--port");
    }
    for (const auto& s : sessions_text_) {
        parse_sessions(s, o.builder.selection);
    }
    if (!sample_text_.empty()) {
        o.builder.selection.sample_percent = parse_percent(sample_text_, "--sample");
    }
    if (!start_at_text_.empty()) {
        o.start_at_ns = parse_wall_time(start_at_text_, "--start-at");
        const auto now =
            static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
        constexpr uint64_t kMaxWaitNs = 24ull * 3600 * 1'000'000'000;
        if (*o.start_at_ns > now + kMaxWaitNs) {
            throw Error(ErrorKind::Usage,
                        "--start-at " + start_at_text_ + " is more than 24 h away");
        }
        if (!o.input.empty() && o.dry_run) {
            o.start_at_ns.reset();  // nothing is sent: nothing to wait for
        }
    }
    if (!duration_text_.empty()) {
        o.duration_ns = static_cast<uint64_t>(parse_duration(duration_text_, "--duration").count());
    }
    if (!timeout_text_.empty()) {
        o.timeout_ns = static_cast<uint64_t>(parse_duration(timeout_text_, "--timeout").count());
    }
    if (!max_failed_text_.empty()) {
        o.max_failed_percent = parse_percent(max_failed_text_, "--max-failed");
    }
    if (!pool_text_.empty()) {
        o.client_pool = Cidr::parse(pool_text_);
        if (!o.client_pool) {
            bad("--client-pool", pool_text_, "a network such as 172.16.0.0/16");
        }
        if (o.client_pool->network.version != o.target.addr.version) {
            throw Error(ErrorKind::Usage,
                        "--client-pool " + pool_text_ + " is not of the target's IP version");
        }
    }
    if (!request_gap_text_.empty()) {
        o.builder.policy.pause_ns =
            static_cast<uint64_t>(parse_duration(request_gap_text_, "--request-gap", true).count());
    }
    o.builder.policy.split_on_ack = !no_ack_split_;
    o.builder.policy.recognize_starts = !no_start_guess_;
    o.compare = !no_compare_;
    o.builder.digest_answers = o.compare;
    o.noise =
        std::make_shared<const CompiledNoiseRules>(CompiledNoiseRules::compile(o.noise_rules));
    o.builder.noise = o.noise.get();
    if (!linger_text_.empty()) {
        o.linger_ns = static_cast<uint64_t>(parse_duration(linger_text_, "--linger", true).count());
    }
    parse_reports(report_args_, o);
    if (!o.report_requests.empty() && !o.compare) {
        throw Error(ErrorKind::Usage,
                    "--report requests compares every answer: it cannot go with --no-compare");
    }
    if (!o.diff_file.empty() && o.transport != TransportMode::Socket) {
        throw Error(ErrorKind::Usage,
                    "--diff needs --transport socket (raw replay sees only the first bytes of "
                    "each response)");
    }
    if (o.inject == InjectMode::Pcap && o.interface.empty()) {
        throw Error(ErrorKind::Usage, "--inject pcap needs the interface: -i IFACE");
    }
    live_cli_.check(o);
    return o;
}

}  // namespace tcpr::replay
