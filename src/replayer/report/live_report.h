// The part of the report only live passthrough has: what the capture fed and what became of
// it (LiveStats), the capture's drops and the --record outcome, as summary lines and as the
// "live" object of the JSON report.
#pragma once

#include <cstdint>
#include <string>

#include "replayer/report/report.h"
#include "replayer/sessions/live_sessions.h"

namespace tcpr::replay {

// The lines the live summary adds to format_summary() (live_stats: what the capture fed).
std::string format_live_summary(const LiveStats& live, uint64_t kernel_drops,
                                const std::string& recorded);
// format_json() with a "live" object added.
std::string format_live_json(const RunSummary& s, const LiveStats& live, uint64_t kernel_drops,
                             const std::string& recorded);

}  // namespace tcpr::replay
