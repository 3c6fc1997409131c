// Live passthrough (tcpcopy's mode): tcpreplay2 without --in captures the online port and copies
// every new connection to the target as it happens, through the same session engine as archive
// replay (RawTransport + SessionDriver: rewriting, copies, intercept tracking, report), and
// optionally records the captured traffic to an archive at the same time. One thread: epoll
// over the capture and the intercept connection, waiting to the next deadline. Runs until
// SIGINT/SIGTERM (or
// --duration), then lets the copies finish (at most LiveOptions::drain_ns) and prints the
// summary. docs/replay.md, "Live passthrough".
#pragma once

#include <string>

#include "replayer/cli/options.h"
#include "replayer/report/report.h"
#include "replayer/sessions/live_sessions.h"

namespace tcpr::replay {

// The BPF filter of the capture: the online port, without the copies we send to the target
// (they leave through an interface the capture may see) nor the target's answers.
std::string live_filter(uint16_t online_port, const net::Endpoint& target);

// The lines the live summary adds to format_summary() (live_stats: what the capture fed).
std::string format_live_summary(const LiveStats& live, uint64_t kernel_drops,
                                const std::string& recorded);
// format_json() with a "live" object added.
std::string format_live_json(const RunSummary& s, const LiveStats& live, uint64_t kernel_drops,
                             const std::string& recorded);

// The whole live program behind main(): returns the exit code (0, or 3 when failed sessions
// exceed --max-failed). Throws tcpr::Error for "cannot run" (one line, exit 1).
int run_live(const ReplayOptions& options);

}  // namespace tcpr::replay
