#include "intercept/options.h"

#include <algorithm>

#include <CLI/CLI.hpp>

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/base/parse.h"
#include "common/net/address_parse.h"
#include "common/os/auth.h"
#include "common/os/metrics_server.h"

namespace tcpr::icpt {

std::string effective_filter(const std::string& user_filter, uint16_t listen_port) {
    const std::string base = user_filter.empty() ? "tcp" : "(" + user_filter + ")";
    return base + " and not tcp port " + std::to_string(listen_port);
}

net::AllowList allow_list(const InterceptOptions& o,
                          const std::vector<net::Cidr>& interface_networks) {
    if (!o.allow_given) {
        return net::intercept_allow_list(net::AllowList(), false, interface_networks);
    }
    return net::intercept_allow_list(o.server.allow, o.allow_any, interface_networks);
}

Cli::Cli(CLI::App& app) {
    app.footer(
        "Captures the test server's responses and reports them to the replayers that\n"
        "registered their connections. Protocol: docs/intercept-protocol.md.\n"
        "Exit codes: 0 ok, 1 error, 2 usage. See docs/cli.md.");
    app.add_option("-i,--interface", o_.interface,
                   "Capture responses on this interface ('any' for all)")
        ->required();
    app.add_option("-F,--filter", o_.filter,
                   "BPF filter for the responses (default 'tcp'; intercept's own port is "
                   "always excluded)");
    app.add_option("-b,--bind", bind_text_, "Listen for replayers on this address")
        ->capture_default_str();
    app.add_option(
           "-p,--port", port_,
           "Listen for replayers on this port (default " + std::to_string(wire::kDefaultPort) + ")")
        ->check(CLI::Range(1, 65535));
    app.add_option("--allow", allow_text_,
                   "Accept replayers only from this address or CIDR range, and loopback "
                   "(repeatable; 'any' for every address; default: the networks of this "
                   "host's interfaces, and loopback)");
    app.add_option("--auth-key", auth_key_path_,
                   "Require replayers to prove this shared key (a file not readable by every "
                   "user, at least 16 bytes; tcpreplay2 --auth-key with a copy of it)");
    app.add_option("--expiry", expiry_text_, "Drop a registration unused for this long (30s, 2m)")
        ->capture_default_str();
    app.add_option("--idle-timeout", idle_text_, "Close a replayer connection silent for this long")
        ->capture_default_str();
    app.add_option("--coalesce", coalesce_text_,
                   "Send a replayer's reports at most once per this period, the first after a "
                   "pause at once, so that a burst goes in one frame (0: every capture batch)")
        ->capture_default_str();
    app.add_option("--queue-limit", queue_text_,
                   "Bytes of reports queued per replayer before reports are dropped (8M)")
        ->capture_default_str();
    app.add_option("-s,--snaplen", o_.snaplen,
                   "Bytes captured per packet (below a packet's size, replayers cannot compare "
                   "answer bodies)")
        ->check(CLI::Range(128u, 262144u))
        ->capture_default_str();
    app.add_option("-B,--buffer-size", buffer_kib_, "Kernel capture buffer in KiB (default 32768)")
        ->check(CLI::Range(256, 4 << 20));
    app.add_option("--metrics", metrics_text_,
                   "Serve Prometheus metrics on http://ADDR:PORT/metrics (e.g. 127.0.0.1:9465)");
    app.add_flag("--promisc", o_.promiscuous, "Put the interface in promiscuous mode");
    app.add_flag("-d,--daemon", o_.daemon, "Run in the background");
    user_opt_ = app.add_option("-Z,--user", o_.user,
                               "Started as root: once the capture and the listening socket are "
                               "open, become this user, with no capability (default nobody; "
                               "-Z root keeps root)");
    app.add_option("--pidfile", o_.pidfile, "Write the process id here (removed at exit)");
    app.add_option("--logfile", o_.logfile, "With -d: append diagnostics here");
    app.add_flag("-q,--quiet", quiet_, "Only warnings, errors and nothing else");
    app.add_flag("-v,--verbose", verbosity_, "More diagnostics (-vv for debug)");
    app.set_version_flag("--version", std::string("intercept ") + TCPR_VERSION);
}

InterceptOptions Cli::options() const {
    InterceptOptions o = o_;
    o.user_given = user_opt_ != nullptr && user_opt_->count() > 0;
    if (verbosity_ >= 2) {
        log::set_level(log::Level::Debug);
    } else if (quiet_) {
        log::set_level(log::Level::Warn);
    }
    if (!o.logfile.empty() && !o.daemon) {
        throw Error(ErrorKind::Usage,
                    "--logfile needs -d/--daemon (in the foreground, "
                    "diagnostics go to stderr)");
    }
    const auto addr = net::IpAddress::parse(bind_text_);
    if (!addr) {
        throw Error(ErrorKind::Usage,
                    "bad value '" + bind_text_ + "' for -b (expected an IPv4 or IPv6 address)");
    }
    o.server.bind = net::Endpoint{*addr, port_};
    std::string bad;
    const auto allow = net::AllowList::parse(allow_text_, &bad);
    if (!allow) {
        throw Error(ErrorKind::Usage, "bad value '" + bad +
                                          "' for --allow (expected an address, a CIDR range "
                                          "such as 10.0.0.0/8, or 'any')");
    }
    o.server.allow = *allow;
    o.allow_given = !allow_text_.empty();
    if (std::find(allow_text_.begin(), allow_text_.end(), "any") != allow_text_.end()) {
        o.server.allow = net::AllowList();
        o.allow_any = true;
    }
    if (!auth_key_path_.empty()) {
        o.server.auth_key = os::read_auth_key(auth_key_path_, "--auth-key");
    }
    o.server.expiry = parse_duration(expiry_text_, "--expiry");
    if (o.server.expiry < std::chrono::seconds(1)) {
        throw Error(ErrorKind::Usage,
                    "bad value '" + expiry_text_ + "' for --expiry (at least 1s)");
    }
    o.server.idle_timeout = parse_duration(idle_text_, "--idle-timeout");
    o.server.coalesce = parse_duration(coalesce_text_, "--coalesce");
    if (o.server.coalesce > std::chrono::milliseconds(100)) {
        throw Error(ErrorKind::Usage,
                    "bad value '" + coalesce_text_ + "' for --coalesce (at most 100ms)");
    }
    const uint64_t queue = parse_size(queue_text_, "--queue-limit");
    if (queue < 64 * 1024 || queue > (uint64_t{1} << 32)) {
        throw Error(ErrorKind::Usage,
                    "bad value '" + queue_text_ + "' for --queue-limit (64k to 4G)");
    }
    o.server.max_queued_bytes = static_cast<size_t>(queue);
    if (!metrics_text_.empty()) {
        o.metrics = os::parse_metrics_endpoint(metrics_text_, "--metrics");
    }
    if (buffer_kib_ > 0) {
        o.buffer_bytes = static_cast<uint32_t>(buffer_kib_) * 1024u;
    }
    return o;
}

}  // namespace tcpr::icpt
