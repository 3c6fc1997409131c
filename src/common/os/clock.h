// The run loops' clock: CLOCK_MONOTONIC in nanoseconds (the clock std::chrono::steady_clock and
// epoll_pwait2's timeouts use), and precise sleeps.
#pragma once

#include <cstdint>

namespace tcpr::os {

// Nanoseconds of CLOCK_MONOTONIC.
uint64_t monotonic_ns();

// Sets this thread's timer slack to 1 ns (prctl PR_SET_TIMERSLACK; the default 50 us lets the
// kernel wake a sleeper up to 50 us late to batch wake-ups). Best effort.
void use_precise_timers();

}  // namespace tcpr::os
