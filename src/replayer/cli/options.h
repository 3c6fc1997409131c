// tcpreplay2's command line (docs/replay.md lists every option): the CLI11 registration that
// fills ReplayOptions (run/replay_options.h), with tcpcopy's spellings (-x PORT-TARGET_IP:PORT, -s
// INTERCEPT, -n COPIES).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net/flow_key.h"
#include "replayer/cli/live_options.h"
#include "replayer/run/merge_reports.h"
#include "replayer/run/replay_options.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace tcpr::replay {

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

// --shard: "I/N", "auto" or "auto/N". `auto` takes I from `env_index` (JOB_COMPLETION_INDEX)
// and N from `env_count` (TCPR_SHARDS) unless given; null: not set. Throws Error(Usage).
struct Shard {
    uint32_t index = 0, count = 1;
};
Shard parse_shard(const std::string& text, const char* env_index, const char* env_count);

class CommandLine {
  public:
    explicit CommandLine(CLI::App& app);
    // Checks and converts what was parsed. Throws Error(Usage) with one line.
    ReplayOptions options();
    // With --merge-reports OUT IN...: the merge's options (nullopt without it). Throws
    // Error(Usage) when a replay option (--in, --target, ...) or a --report other than html
    // comes with it.
    std::optional<MergeReportsOptions> merge_options() const;

  private:
    CLI::App& app_;
    CLI::Option* merge_opt_ = nullptr;
    std::vector<std::string> merge_args_;  // --merge-reports OUT IN...
    ReplayOptions o_;
    std::string metrics_text_;
    std::string auth_key_path_;
    std::string target_text_, intercept_text_, speed_text_ = "1x", port_text_, tcpcopy_text_;
    std::vector<std::string> sessions_text_;
    std::string sample_text_, duration_text_, timeout_text_, max_failed_text_, pool_text_;
    std::string request_gap_text_, linger_text_;
    std::vector<std::vector<std::string>> report_args_;  // each --report: [FORMAT] FILE
    bool no_ack_split_ = false;
    bool no_start_guess_ = false;
    bool no_compare_ = false;
    std::string start_at_text_;
    std::string shard_text_;
    std::string transport_text_ = "raw";  // checked by CLI11: raw|socket
    std::string inject_text_ = "raw";     // raw|pcap
    CLI::Option* max_active_opt_ = nullptr;
    CLI::Option* user_opt_ = nullptr;
    LiveCommandLine live_cli_;
};

}  // namespace tcpr::replay
