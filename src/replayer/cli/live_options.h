// tcpreplay2's live passthrough options (no --in: copy what arrives on the online port, as
// tcpcopy does). The fields live in ReplayOptions::live; LiveCommandLine registers them with
// CLI11 and checks them against the rest of the command line (docs/replay.md, "Live
// passthrough").
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace tcpr::replay {

struct ReplayOptions;

struct LiveOptions {
    std::string record;                           // --record FILE: archive of the capture
    int record_level = 3;                         // zstd level of --record
    bool daemon = false;                          // -d
    std::string pidfile, logfile;                 // --pidfile, --logfile (with -d)
    uint64_t idle_ns = 120'000'000'000;           // --idle-timeout: a quiet connection is over
    uint64_t stats_interval_ns = 10'000'000'000;  // --stats-interval (stderr not a terminal)
    uint64_t max_buffer_bytes = 256ull << 20;     // --max-buffer: client bytes held for copies
    uint64_t drain_ns = 5'000'000'000;            // at stop: time copies get to finish
    bool promiscuous = false;                     // --promisc
};

class LiveCommandLine {
  public:
    // Registers the live options on `app` (their values land in `options` when parsed).
    void add(CLI::App& app, LiveOptions& options);
    // Checks what was parsed; `o` holds the whole command line. Throws Error(Usage).
    void check(ReplayOptions& o) const;

  private:
    std::string idle_text_, stats_text_, buffer_text_;
    bool live_only_given_ = false;
    CLI::App* app_ = nullptr;
};

// Live mode: the command line has no --in.
bool is_live(const ReplayOptions& o);

}  // namespace tcpr::replay
