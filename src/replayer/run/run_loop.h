// The run loop of archive replay and live passthrough alike: one thread, an epoll instance over
// the transport's descriptors (the intercept connection, the sockets) and the source's (the
// capture), waiting with a nanosecond timeout until the next deadline (a session start, a
// retransmission, a think time), so thousands of sessions run without threads and start times
// do not drift. It starts each copy the source says is due, runs the transport's events and
// timers, shows the progress line, and ends the run (source/session_source.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/os/metrics_server.h"
#include "replayer/source/session_source.h"
#include "replayer/transport/transport.h"

namespace tcpr::replay {

struct RunLoopOptions {
    uint64_t max_active = 100'000;  // copies active at once; more wait for their start
    // The run ends at duration + grace (active copies aborted, stop reason "duration").
    std::optional<uint64_t> duration_ns;
    uint64_t grace_ns = 30'000'000'000;  // after --duration, how long active sessions may finish
    // SIGINT/SIGTERM aborts the active copies at once (stop reason "signal"). false: the source
    // stops itself at a signal (live passthrough stops capturing and drains).
    bool abort_on_signal = true;
    bool progress = true;
    // The progress line when stderr is not a terminal: one line this often.
    std::chrono::milliseconds plain_progress_period = std::chrono::seconds(10);
    uint64_t start_delay_ns = 0;  // run start = now + this (registration lead)
    // --start-at: the run starts at this wall-clock instant (ns since the epoch; shards given
    // the same one start together), at least start_delay_ns from now. Meanwhile the transport
    // keeps its connections (intercept) alive and a signal ends the wait.
    std::optional<uint64_t> start_at_realtime_ns;
    // --metrics: served on the loop's epoll (tags kMetricsTag ..), null when not asked for.
    os::MetricsServer* metrics = nullptr;
    // A deadline in the future may wake the loop this much later, so that deadlines close
    // together (the copies of one request, acknowledged and settled within microseconds of one
    // another) are served by one wake-up. 0 (archive replay): every deadline on time.
    uint64_t timer_slack_ns = 0;
};

// The first epoll tag of the metrics server (below Transport::kFirstTag, above the sources').
constexpr uint64_t kMetricsTag = 8;

struct RunResult {
    uint64_t wall_ns = 0;
    std::string stop_reason;  // "", "signal", "duration"
};

// Runs the source's copies through the transport until the source is done and no copy is
// active, the source's abort time or the duration plus grace passed, or a stop signal arrived
// (active sessions are then reset and counted aborted).
RunResult run_loop(SessionSource& source, Transport& transport, const RunLoopOptions& options);

}  // namespace tcpr::replay
