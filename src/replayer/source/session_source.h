// Where the session copies of a run come from, behind one interface so archive replay and live
// passthrough share one run loop (run/run_loop.h) and one report (run/summary.h):
//  - ScheduleSource (schedule_source.h): a complete Recording, each copy started at its
//    scheduled time (--speed, --copies, --loop, --duration);
//  - LiveSource (live_source.h): a live capture whose new connections become sessions while
//    they happen; their copies start at once.
// The run loop owns the epoll instance, the clock, the transport's retries and the progress
// line; a source says which copy is next, when it is due, and when it is over.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "common/os/epoll.h"
#include "replayer/report/report.h"
#include "replayer/schedule/scheduler.h"
#include "replayer/transport/transport.h"

namespace tcpr::replay {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

// One copy to start: what the transport starts, when its first packet is due (monotonic), and
// when to stop trying while the transport cannot start it (no free client endpoint).
struct DueStart {
    StartEvent event;
    uint64_t due_ns = 0;
    uint64_t give_up_at = kNever;
};

class SessionSource {
  public:
    virtual ~SessionSource() = default;

    // The run loop's side, in the order of one loop iteration.

    // The run begins; `start_ns` (monotonic) is the run's time 0. A source may add descriptors
    // to `epoll` (valid until the run ends) with tags below Transport::kFirstTag: they only
    // wake the loop, the source reads them in poll().
    virtual void begin(os::Epoll& epoll, uint64_t start_ns) = 0;
    // Takes in what arrived by now (live: captured packets; new sessions queue their copies).
    virtual void poll(uint64_t now_ns) = 0;
    // epoll reported one of the descriptors the source added in begin() readable (its tag).
    virtual void on_readable(uint64_t /*tag*/) {}
    // The next copy to start, in order; nullopt when none is waiting (yet).
    virtual std::optional<DueStart> next_start(uint64_t now_ns) const = 0;
    // The copy next_start() returned was started by the transport, or given up (its
    // give_up_at passed before the transport could start it).
    virtual void started() = 0;
    virtual void gave_up() = 0;
    // After the starts, before the transport's timers: the transport's copies move on with what
    // changed (live: the copies of sessions that grew are woken).
    virtual void update(Transport& transport, uint64_t now_ns) = 0;
    // After the transport flushed: periodic upkeep (live: idle expiry, --record flush).
    virtual void upkeep(uint64_t now_ns) = 0;
    // No copy will start any more: the run is over once the transport has none active.
    virtual bool done() const = 0;
    // When the source next needs the loop besides its starts (kNever: never).
    virtual uint64_t next_deadline() const = 0;
    // Copies still active then are aborted and the run ends (kNever: no such limit).
    virtual uint64_t abort_at() const = 0;
    // Why the source stopped early ("signal", "duration"); "" when it did not.
    virtual std::string stop_reason() const = 0;
    // The progress line (os::StatusLine), `elapsed_ns` since the run's time 0.
    virtual std::string status(const Transport& transport, uint64_t elapsed_ns) const = 0;

    // The report's side (run/summary.h), once the run is over.

    // Fills what the input knows: input, format, build statistics, sessions, the copies
    // planned, the recorded time covered, and counters only the source kept. `s` holds the
    // run's common part already (wall time, stop reason, loops, the transport's counters).
    virtual void summarize(RunSummary& s) const = 0;
    // Lines the source adds to format_summary(s) on stdout ("" for none).
    virtual std::string summary_text(const RunSummary& s) const = 0;
    // The --report json text (format_json(s), or with the source's own section).
    virtual std::string summary_json(const RunSummary& s) const = 0;
};

}  // namespace tcpr::replay
