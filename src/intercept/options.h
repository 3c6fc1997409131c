// intercept's command line -> InterceptOptions (validated), and the program's entry point.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "intercept/report_server.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace tcpr::icpt {

struct InterceptOptions {
    std::string interface;              // -i ("any" allowed)
    std::string filter;                 // -F, BPF; empty = "tcp"
    uint32_t snaplen = 262144;          // -s: whole packets (replayers compare answer bodies)
    uint32_t buffer_bytes = 32u << 20;  // -B (KiB on the command line)
    bool promiscuous = false;           // --promisc (routed responses are addressed to us)
    // -b, -p, --allow, --auth-key, --expiry, --idle-timeout, --queue-limit. server.allow is
    // what --allow gave (or nothing); run_intercept() completes it with allow_list().
    ServerOptions server;
    bool allow_given = false;              // --allow used: exactly its ranges (plus loopback)
    bool allow_any = false;                // --allow any
    bool daemon = false;                   // -d
    std::string pidfile, logfile;          // --pidfile, --logfile
    std::optional<net::Endpoint> metrics;  // --metrics ADDR:PORT
    std::string user = "nobody";           // -Z: who it becomes once started as root
    bool user_given = false;
};

// The capture filter actually used: the user's (or "tcp") minus intercept's own connections,
// which would otherwise be captured on `-i any` or when replayers share the interface.
std::string effective_filter(const std::string& user_filter, uint16_t listen_port);

// The allow-list intercept uses: --allow's ranges plus loopback, every address for
// "--allow any", or without --allow the networks of `interface_networks` plus loopback.
net::AllowList allow_list(const InterceptOptions& o,
                          const std::vector<net::Cidr>& interface_networks);

// Registers every option on `app`; options() validates and converts them after parsing.
class Cli {
  public:
    explicit Cli(CLI::App& app);
    InterceptOptions options() const;  // throws Error(Usage) on a bad value

  private:
    InterceptOptions o_;
    std::string bind_text_ = "0.0.0.0";
    std::string metrics_text_;
    uint16_t port_ = wire::kDefaultPort;
    std::vector<std::string> allow_text_;
    std::string auth_key_path_;
    CLI::Option* user_opt_ = nullptr;
    std::string expiry_text_ = "120s", idle_text_ = "60s", queue_text_ = "8M";
    std::string coalesce_text_ = "1ms";
    int buffer_kib_ = 0;
    int verbosity_ = 0;
    bool quiet_ = false;
};

// Opens the capture and the listening socket (errors: one line, before detaching), detaches
// with -d, serves until SIGINT/SIGTERM, and logs the summary line.
int run_intercept(const InterceptOptions& options);

}  // namespace tcpr::icpt
