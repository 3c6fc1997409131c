// tcpreplay2's live passthrough options (no --in: copy what arrives on the online port, as
// tcpcopy does). The fields live in ReplayOptions::live; LiveCommandLine registers them with
// CLI11 and checks them against the rest of the command line (docs/replay.md, "Live
// passthrough"). The fields are LiveOptions (run/replay_options.h).
#pragma once

#include <string>

#include "replayer/run/replay_options.h"

namespace CLI {
class App;
}

namespace tcpr::replay {

class LiveCommandLine {
  public:
    // Registers the live options on `app` (their values land in `options` when parsed).
    void add(CLI::App& app, LiveOptions& options);
    // Checks what was parsed; `o` holds the whole command line. Throws Error(Usage).
    void check(ReplayOptions& o) const;

  private:
    std::string idle_text_, stats_text_, buffer_text_, lag_text_;
    bool live_only_given_ = false;
    CLI::App* app_ = nullptr;
};

}  // namespace tcpr::replay
