// tcpreplay2's command line (docs/replay.md lists every option): ReplayOptions and the CLI11
// registration, with tcpcopy's spellings (-x PORT-TARGET_IP:PORT, -s INTERCEPT, -n COPIES).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net/flow_key.h"
#include "replayer/cli/live_options.h"
#include "replayer/sessions/session_builder.h"
#include "replayer/transport/modes.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace tcpr::replay {

// --max-active's default at --speed max (docs/replay.md, "Options").
constexpr uint64_t kMaxSpeedActive = 256;

struct ReplayOptions {
    std::string input;                             // --in
    net::Endpoint target;                          // --target / -x
    std::optional<net::Endpoint> intercept;        // --intercept / -s
    TransportMode transport = TransportMode::Raw;  // --transport raw|socket
    std::string diff_file;                         // --diff FILE (socket transport)
    InjectMode inject = InjectMode::RawSocket;     // --inject raw|pcap
    std::string interface;                         // -i, with --inject pcap
    std::string next_hop_mac;                      // --next-hop-mac, with --inject pcap on Ethernet
    uint32_t speed_milli = 1000;                   // --speed: 1000 = 1x, 0 = max
    uint32_t copies = 1;                           // --copies / -n
    uint32_t loops = 1;                            // --loop
    BuilderOptions builder;                        // --port, --sessions, --sample, --request-gap
    std::optional<uint64_t> duration_ns;           // --duration
    std::string report_json;                       // --report json FILE
    uint64_t timeout_ns = 30'000'000'000;          // --timeout
    double max_failed_percent = 1.0;               // --max-failed
    std::optional<Cidr> client_pool;               // --client-pool
    uint64_t max_active = 100'000;                 // --max-active (kMaxSpeedActive at --speed max)
    uint16_t mtu = 1500;                           // --mtu: segments are cut to fit it
    uint64_t linger_ns = 60'000'000'000;           // --linger: a used client tuple stays reserved
    bool dry_run = false;                          // --dry-run: print the sessions, send nothing
    int verbosity = 0;                             // -v (1), -vv (2)
    bool quiet = false;                            // -q
    LiveOptions live;                              // live passthrough (no --in): live_options.h
};

// "2x", "2", "0.5x", "1.25X", "max" -> speed x 1000 (0 = max). Throws Error(Usage).
uint32_t parse_speed(const std::string& text, const std::string& option);
// tcpcopy's -x: "80-192.168.0.246:80" or "10.0.0.1:80-192.168.0.246:80" -> recorded server
// port and target. Throws Error(Usage).
std::pair<uint16_t, net::Endpoint> parse_tcpcopy_mapping(const std::string& text);
// --sessions: comma-separated items: FROM-TO (offsets from the capture's start, e.g.
// "10m-20m", "-30s", "1h-"), a client network ("10.1.0.0/16", repeatable), a sample ("25%").
void parse_sessions(const std::string& text, Selection& selection);
// "25%", "25", "0.5%" -> 25.0 / 0.5 (0 <= v <= 100). Throws Error(Usage).
double parse_percent(const std::string& text, const std::string& option);

class CommandLine {
  public:
    explicit CommandLine(CLI::App& app);
    // Checks and converts what was parsed. Throws Error(Usage) with one line.
    ReplayOptions options();

  private:
    ReplayOptions o_;
    std::string target_text_, intercept_text_, speed_text_ = "1x", port_text_, tcpcopy_text_;
    std::vector<std::string> sessions_text_;
    std::string sample_text_, duration_text_, timeout_text_, max_failed_text_, pool_text_;
    std::string request_gap_text_, linger_text_;
    std::vector<std::string> report_args_;
    bool no_ack_split_ = false;
    bool no_start_guess_ = false;
    std::string transport_text_ = "raw";  // checked by CLI11: raw|socket
    std::string inject_text_ = "raw";     // raw|pcap
    CLI::Option* max_active_opt_ = nullptr;
    LiveCommandLine live_cli_;
};

}  // namespace tcpr::replay
