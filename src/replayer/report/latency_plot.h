// The HTML report's latency plots: two latency histograms (recorded and replayed) as cumulative
// distributions on a logarithmic time axis, drawn as inline SVG on the server side, so a page
// shows them without script and without any external asset.
#pragma once

#include <string>

#include "common/base/log_histogram.h"

namespace tcpr::replay {

// One <svg class="latency-plot" data-endpoint="LABEL"> element (LABEL escaped): the share of
// answers at or below each latency, recorded and replayed in two colours with a legend (count,
// p50 and p99 of each). Histograms hold microseconds; an empty one draws no curve (and says
// so in the legend). Never throws on any histogram.
std::string latency_plot_svg(const std::string& label, const LogHistogram& recorded,
                             const LogHistogram& replayed);

}  // namespace tcpr::replay
