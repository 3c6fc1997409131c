// Archive replay's session source: a complete Recording, each copy started at its scheduled
// time (Scheduler: --speed, --copies, --loop, --duration), its lead time before the due time
// left to the transport (Transport::lead_ns). No copy is ever given up: while the transport
// cannot start one, the run loop retries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "replayer/schedule/scheduler.h"
#include "replayer/sessions/recording.h"
#include "replayer/source/session_source.h"

namespace tcpr::replay {

// What the report says about the input besides the Recording (run_replay fills it).
struct ArchiveFacts {
    std::string input;   // the --in path
    std::string format;  // "archive", "pcap/pcapng"
    uint64_t frames_damaged = 0;
    std::vector<std::string> damage;       // the first few damaged frames, one line each
    uint64_t sessions_skipped_family = 0;  // left out: the target's IP version differs
};

// The progress line's part about the copies an archive replay started (ScheduleSource,
// StreamSource): ", A active, D done (R reset, T timed out) | requests .., responses .. |
// packets N (or sent BYTES) | 1.23x", the speed from the recorded time reached by `elapsed_ns`.
std::string copies_progress(const Transport& transport, uint64_t recorded_pos_ns,
                            uint64_t elapsed_ns);

class ScheduleSource final : public SessionSource {
  public:
    // `recording` and `scheduler` must outlive the source; `scheduler` is built from the
    // recording's session offsets.
    ScheduleSource(const Recording& recording, Scheduler& scheduler, ArchiveFacts facts = {});

    void begin(os::Epoll& epoll, uint64_t start_ns) override;
    void poll(uint64_t) override {}
    std::optional<DueStart> next_start(uint64_t now_ns) const override;
    void started() override;
    void gave_up() override {}  // never: next_start() gives no give_up_at
    void update(Transport&, uint64_t) override {}
    void upkeep(uint64_t) override {}
    bool done() const override { return sched_.done(); }
    uint64_t next_deadline() const override { return kNever; }
    uint64_t abort_at() const override { return kNever; }
    std::string stop_reason() const override { return {}; }
    std::string status(const Transport& transport, uint64_t elapsed_ns) const override;

    void summarize(RunSummary& s) const override;
    std::string summary_text(const RunSummary&) const override { return {}; }
    std::string summary_json(const RunSummary& s) const override { return format_json(s); }

    // Recorded time (loops included) of the last copy started: how far a run stopped early
    // got.
    uint64_t recorded_pos_ns() const { return recorded_pos_; }

  private:
    const Recording& rec_;
    Scheduler& sched_;
    ArchiveFacts facts_;
    uint64_t t0_ = 0;
    uint64_t recorded_pos_ = 0;
};

}  // namespace tcpr::replay
