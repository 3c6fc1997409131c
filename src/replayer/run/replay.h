// The replay run: input -> recording -> transport -> run loop -> report. The run loop is one
// thread: an epoll instance over the transport's descriptors (the intercept connection), waiting
// with a nanosecond timeout until the next deadline (a session start, a retransmission, a think
// time), so thousands of sessions run without threads and start times do not drift.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "replayer/cli/options.h"
#include "replayer/report/report.h"
#include "replayer/schedule/scheduler.h"
#include "replayer/sessions/recording.h"
#include "replayer/transport/transport.h"

namespace tcpr::replay {

struct RunLoopOptions {
    uint64_t max_active = 100'000;
    std::optional<uint64_t> duration_ns;
    uint64_t grace_ns = 30'000'000'000;  // after --duration, how long active sessions may finish
    bool progress = true;
    uint64_t start_delay_ns = 0;  // run start = now + this (registration lead)
};

struct RunResult {
    uint64_t wall_ns = 0;
    std::string stop_reason;
    uint64_t recorded_pos_ns = 0;  // recorded time (loops included) of the last started copy
};

// Runs the schedule through the transport until every session finished, the duration plus
// grace passed, or a stop signal arrived (active sessions are then reset and counted aborted).
RunResult run_loop(const Recording& recording, Scheduler& scheduler, Transport& transport,
                   const RunLoopOptions& options);

// --dry-run: the sessions and requests as built from the input, one line each.
std::string format_plan(const Recording& recording, size_t max_sessions);

// The whole program behind main(): returns the exit code (0, or 3 when failed sessions exceed
// --max-failed). Throws tcpr::Error for "cannot run" (one line, exit 1).
int run_replay(const ReplayOptions& options);

}  // namespace tcpr::replay
