// tcpreplay2's `--metrics` text (docs/replay.md, "Metrics"): the report's counters as they are
// now, in the Prometheus text format, rendered on the run loop's thread at each scrape.
// Latency histograms are merged over every endpoint (no `endpoint` label: endpoint names come
// from request bytes, are unbounded and would change rank during a run; the JSON report keeps
// the per-endpoint table).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/base/log_histogram.h"
#include "common/metrics/exposition.h"
#include "replayer/sessions/live_sessions.h"
#include "replayer/transport/counters.h"
#include "replayer/transport/lateness.h"

namespace tcpr::replay {

struct MetricsView {
    const ReplayCounters* counters = nullptr;  // null before the run: only the metrics' lines
    size_t active = 0;                         // session copies active now
    uint32_t copies = 1;                       // --copies
    // Live passthrough (null in archive replay).
    const LiveStats* live = nullptr;
    uint64_t buffered_bytes = 0;
    size_t open_sessions = 0;
    uint64_t capture_drops = 0;
};

// Fixed bucket bounds (seconds) of the latency and lateness histograms.
inline constexpr double kLatencyBounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                            0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                            1,      2.5,     5,      10,    30,     60};

// A LogHistogram of microseconds in the fixed bounds: each log bucket counts under the first
// bound not below its largest value (so a value is never counted under a bound it exceeds).
std::vector<metrics::Bucket> latency_buckets(const LogHistogram& h_us);
std::vector<metrics::Bucket> lateness_buckets(const LatenessHistogram& h);

std::string format_metrics(const MetricsView& view);

}  // namespace tcpr::replay
