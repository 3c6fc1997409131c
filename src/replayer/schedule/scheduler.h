// When each session copy starts. Pure: times are nanoseconds relative to the run's start, so a
// long run never drifts (every due time is computed from the start, never by adding sleeps).
//   due(session s, copy k, loop l) = l * loop_period + offset(s) / speed
// where offset(s) is the session's recorded start minus the recording's first packet and
// loop_period is the recording's span / speed. All copies of a session are due together.
// --speed max (speed_milli 0) makes every due time 0: sessions start as fast as the run loop's
// concurrency cap allows, in recorded order.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace tcpr::replay {

struct ScheduleOptions {
    uint32_t speed_milli = 1000;          // speed x 1000 (2x = 2000, 0.5x = 500); 0 = max
    uint32_t copies = 1;                  // >= 1
    uint32_t loops = 1;                   // >= 1
    std::optional<uint64_t> duration_ns;  // no session starts at or after this
};

struct StartEvent {
    uint64_t due_ns = 0;   // from the run's start
    uint32_t session = 0;  // index into Recording::sessions
    uint32_t copy = 0;
    uint32_t loop = 0;
    bool operator==(const StartEvent&) const = default;
};

// recorded_ns / speed, exactly (integer arithmetic); 0 when speed_milli is 0 (max).
uint64_t scale_time(uint64_t recorded_ns, uint32_t speed_milli);

class Scheduler {
  public:
    // offsets_ns: each session's recorded start minus the recording's first packet, in
    // non-decreasing order (Recording::sessions is ordered by start). span_ns: the recording's
    // time span (the loop period at 1x; at least the last offset).
    Scheduler(std::vector<uint64_t> offsets_ns, uint64_t span_ns, ScheduleOptions options);

    // The next start in due order, or nullopt when every start was returned (or the rest is
    // past the duration cap).
    std::optional<StartEvent> peek() const;
    void pop();
    bool done() const { return !peek().has_value(); }

    // Starts in the whole schedule, ignoring the duration cap: sessions x copies x loops.
    uint64_t total() const;
    uint64_t returned() const { return returned_; }
    uint64_t loop_period_ns() const { return period_; }
    // The due time of the last start (the schedule's length), ignoring the duration cap.
    uint64_t last_due_ns() const;

  private:
    StartEvent at(uint32_t session, uint32_t copy, uint32_t loop) const;

    std::vector<uint64_t> offsets_;
    ScheduleOptions opt_;
    uint64_t period_ = 0;
    uint32_t session_ = 0, copy_ = 0, loop_ = 0;  // the cursor
    uint64_t returned_ = 0;
};

}  // namespace tcpr::replay
