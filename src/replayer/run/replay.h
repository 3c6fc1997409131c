// Archive replay: input -> recording -> schedule -> transport -> run loop -> report. The wiring
// only: the schedule is a ScheduleSource (source/schedule_source.h) driven by the run loop that
// live passthrough shares (run_loop.h).
#pragma once

#include <cstddef>
#include <string>

#include "replayer/run/replay_options.h"
#include "replayer/run/run_loop.h"
#include "replayer/schedule/scheduler.h"
#include "replayer/sessions/recording.h"
#include "replayer/transport/transport.h"

namespace tcpr::replay {

// Runs the schedule of `recording` through the transport (run_loop() over a ScheduleSource).
RunResult run_loop(const Recording& recording, Scheduler& scheduler, Transport& transport,
                   const RunLoopOptions& options);

// --dry-run: the sessions and requests as built from the input, one line each.
std::string format_plan(const Recording& recording, size_t max_sessions);

// The whole program behind main(): returns the exit code (0, or 3 when failed sessions exceed
// --max-failed). Throws tcpr::Error for "cannot run" (one line, exit 1).
int run_replay(const ReplayOptions& options);

}  // namespace tcpr::replay
