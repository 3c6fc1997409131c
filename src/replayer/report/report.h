// The run's final report: a human summary on stdout and the same facts as JSON (--report).
// Also the exit-code rule: a run "failed" when more than max_failed_percent of its finished
// sessions were reset by the target or timed out (docs/replay.md, "Exit codes").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "replayer/sessions/recording.h"
#include "replayer/transport/counters.h"
#include "replayer/transport/modes.h"

namespace tcpr::replay {

struct RunSummary {
    std::string input, format, target, intercept, transport;  // transport: as described
    TransportMode mode = TransportMode::Raw;
    std::string diff_file;  // --diff (socket transport); "" = none
    uint32_t speed_milli = 1000;
    uint32_t copies = 1, loops = 1;
    uint32_t shard = 0, shards = 1;  // --shard I/N (shards 1: the whole recording)
    uint64_t recorded_ns = 0;        // the recording's span x loops (what 1x would take)
    uint64_t wall_ns = 0;            // how long the replay took
    BuildStats build;
    uint64_t frames_damaged = 0;
    std::vector<std::string> damage;  // one line per damaged archive frame (first few)
    uint64_t sessions_in_recording = 0;
    uint64_t sessions_skipped_family = 0;  // client address family differs from the target's
    ReplayCounters counters;
    std::string stop_reason;  // "", "duration", "signal"
    // The noise rules of the comparison: headers ignored (defaults and --ignore-header),
    // --ignore regexes, --ignore-json paths.
    std::vector<std::string> ignored_headers, ignore_body, ignore_json;
    double max_failed_percent = 1.0;
    // A merged report (tcpreplay2 --merge-reports, report_merge.h): the shard reports it adds
    // up, each run's report once (a merged input's own list is taken over); empty for a run.
    std::vector<std::string> merged_from;
};

// Failed sessions (reset by target + timed out + connection errors) as a percentage of
// finished ones.
double failed_percent(const ReplayCounters& c);
bool failed_beyond(const RunSummary& s);

std::string format_speed(uint32_t speed_milli);  // "2x", "0.5x", "max"
std::string format_summary(const RunSummary& s);
std::string format_json(const RunSummary& s);

}  // namespace tcpr::replay
