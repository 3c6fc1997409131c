#include "recorder/commands.h"

#include <CLI/CLI.hpp>

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/base/parse.h"
#include "common/cli/run_main.h"
#include "common/net/link_type.h"

namespace tcpr::rec {

void require_supported_link(uint32_t value, const std::string& what) {
    if (!net::link_type_from_value(value)) {
        throw Error(ErrorKind::Unsupported,
                    what + ": link type " + net::link_type_name(value) +
                        " is not supported (supported: EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, "
                        "IPV6, NULL, LOOP)");
    }
}

std::string build_filter(const std::vector<uint16_t>& ports, const std::string& filter) {
    std::string port_expr;
    for (uint16_t p : ports) {
        if (!port_expr.empty()) {
            port_expr += " or ";
        }
        port_expr += "tcp port " + std::to_string(p);
    }
    if (ports.size() > 1) {
        port_expr = "(" + port_expr + ")";
    }
    if (port_expr.empty()) {
        return filter;
    }
    if (filter.empty()) {
        return port_expr;
    }
    return port_expr + " and (" + filter + ")";
}

Commands::Commands(CLI::App& app) : app_(app) {
    app.footer(
        "Modes (exactly one):\n"
        "  tcprec -i IFACE [-p PORT] [-f FILTER] -o OUT.pcap.zst   record live traffic\n"
        "  tcprec -r IN.pcap|IN.pcapng [-o OUT.pcap.zst]            import a capture file\n"
        "  tcprec --info ARCHIVE                                    summary and sessions\n"
        "  tcprec --verify ARCHIVE                                  check every frame\n"
        "  tcprec --repair BROKEN [-o OUT]                          rebuild after a crash\n"
        "Exit codes: 0 ok, 1 error, 2 usage, 3 verify found damage. See docs/cli.md.");
    auto* iface = app.add_option("-i,--interface", record_.interface,
                                 "Capture on this interface ('any' for all)");
    auto* read = app.add_option("-r,--read", import_.input, "Import this pcap or pcapng file");
    auto* info = app.add_option("--info", info_.archive,
                                "Print an archive's summary and sessions (index only)");
    auto* verify =
        app.add_option("--verify", verify_path_, "Decompress and check every frame of an archive");
    auto* repair = app.add_option("--repair", repair_.input,
                                  "Rebuild a valid archive from an interrupted or damaged one");
    for (auto* a : {iface, read, info, verify, repair}) {
        for (auto* b : {iface, read, info, verify, repair}) {
            if (a != b) {
                a->excludes(b);
            }
        }
    }
    app.add_option("-o,--output", record_.output, "Output archive (.pcap.zst)");
    app.add_option("-p,--port", ports_text_, "Record TCP traffic of this server port (repeatable)");
    app.add_option("-f,--filter", record_.filter, "BPF filter expression (and-ed with -p)");
    app.add_option("-s,--snaplen", record_.snaplen, "Bytes captured per packet")
        ->check(CLI::Range(64u, 262144u));
    app.add_option("-c,--count", record_.count, "Stop after this many packets");
    app.add_option("--duration", duration_text_, "Stop after this long (30s, 10m, 2h)");
    app.add_option("-C,--rotate-size", rotate_size_text_,
                   "Start a new file when this one reaches N million bytes (100, 2G)");
    app.add_option("-G,--rotate-seconds", rotate_every_text_,
                   "Start a new file every period (3600, 1h); strftime %-codes in -o are expanded");
    app.add_option("-B,--buffer-size", buffer_kib_, "Kernel capture buffer in KiB (default 65536)")
        ->check(CLI::Range(256, 4 << 20));
    app.add_flag("--no-promisc", no_promisc_, "Do not put the interface in promiscuous mode");
    user_opt_ = app.add_option("-Z,--user", record_.user,
                               "With -i, started as root: once the capture is open, become this "
                               "user, with no capability; the archives are written as it "
                               "(default nobody; -Z root keeps root)");
    app.add_option("--level", record_.level, "zstd compression level")->check(CLI::Range(1, 19));
    app.add_option("--sessions", info_.max_sessions, "With --info: list at most N sessions");
    app.add_flag("--all-sessions", all_sessions_, "With --info: list every session");
    app.add_flag("--json", info_.json, "With --info: print JSON");
    app.add_flag("-q,--quiet", record_.quiet, "No status line, only errors and the summary");
    app.add_flag("-v,--verbose", verbosity_, "More diagnostics (-vv for debug)");
    app.set_version_flag("--version", std::string("tcprec ") + TCPR_VERSION);
}

int Commands::run() {
    if (verbosity_ >= 2) {
        log::set_level(log::Level::Debug);
    }
    std::vector<uint16_t> ports;
    for (const auto& p : ports_text_) {
        ports.push_back(parse_port(p, "-p"));
    }
    if (!info_.archive.empty()) {
        if (all_sessions_) {
            info_.max_sessions = static_cast<size_t>(-1);
        }
        return run_info(info_);
    }
    if (!verify_path_.empty()) {
        return run_verify(verify_path_);
    }
    if (!repair_.input.empty()) {
        repair_.output = record_.output;
        repair_.level = record_.level;
        return run_repair(repair_);
    }
    if (!import_.input.empty()) {
        import_.output = record_.output;
        import_.ports = ports;
        import_.filter = record_.filter;
        import_.level = record_.level;
        import_.quiet = record_.quiet;
        return run_import(import_);
    }
    if (record_.interface.empty()) {
        throw Error(ErrorKind::Usage,
                    "nothing to do: give -i IFACE -o OUT to record, -r FILE to import, or "
                    "--info/--verify/--repair ARCHIVE (see --help)");
    }
    if (record_.output.empty()) {
        throw Error(ErrorKind::Usage, "recording needs an output file: -o OUT.pcap.zst");
    }
    record_.ports = ports;
    if (!duration_text_.empty()) {
        record_.duration = parse_duration(duration_text_, "--duration");
    }
    if (!rotate_every_text_.empty()) {
        record_.rotate_every = parse_duration(rotate_every_text_, "-G");
    }
    if (!rotate_size_text_.empty()) {
        record_.rotate_bytes = parse_size(rotate_size_text_, "-C");
    }
    if (buffer_kib_ > 0) {
        record_.buffer_bytes = static_cast<uint32_t>(buffer_kib_) * 1024u;
    }
    record_.promiscuous = !no_promisc_;
    record_.user_given = user_opt_->count() > 0;
    return run_record(record_);
}

}  // namespace tcpr::rec
