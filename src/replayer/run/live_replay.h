// Live passthrough (tcpcopy's mode): tcpreplay2 without --in captures the online port and copies
// every new connection to the target as it happens, through the same transports, run loop and
// report as archive replay, and optionally records the captured traffic to an archive at the
// same time. The wiring only: the capture is a LiveSource (source/live_source.h) driven by the
// run loop (run_loop.h). Runs until SIGINT/SIGTERM (or --duration), then lets the copies finish
// (at most LiveOptions::drain_ns) and prints the summary. docs/replay.md, "Live passthrough".
#pragma once

#include <cstdint>
#include <string>

#include "common/net/flow_key.h"
#include "replayer/run/replay_options.h"

namespace tcpr::replay {

// How late a live copy's timer may fire (RunLoopOptions::timer_slack_ns).
constexpr uint64_t kLiveTimerSlackNs = 1'000'000;

// The BPF filter of the capture: the online port, without the copies we send to the target
// (they leave through an interface the capture may see) nor the target's answers.
std::string live_filter(uint16_t online_port, const net::Endpoint& target);

// The whole live program behind main(): returns the exit code (0, or 3 when failed sessions
// exceed --max-failed). Throws tcpr::Error for "cannot run" (one line, exit 1).
int run_live(const ReplayOptions& options);

}  // namespace tcpr::replay
