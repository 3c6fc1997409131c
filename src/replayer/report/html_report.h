// The run's report as one self-contained HTML page (--report html FILE): the summary and its
// headline numbers, the endpoint table (sortable in the browser, worst first), latency plots
// recorded vs replayed (inline SVG) and examples of each kind of difference side by side. No
// external asset: inline CSS, script and SVG; a Content-Security-Policy lets the page load
// nothing and run only its own script. Everything from the recording or the target is
// escaped (html_text.h). The page is bounded: the limits below, said on the page when reached.
#pragma once

#include <cstddef>
#include <string>

#include "replayer/report/report.h"

namespace tcpr::replay {

constexpr size_t kHtmlMaxEndpointRows = 1000;  // endpoint table rows (worst first)
constexpr size_t kHtmlMaxPlots = 20;           // endpoints plotted (worst first), plus all merged
constexpr size_t kHtmlExamplesPerKind = 5;     // difference examples of each kind
constexpr size_t kHtmlMaxExampleBytes = 4096;  // of each request / answer text shown

// `source_lines`: what the session source adds to the summary (SessionSource::summary_text),
// shown after format_summary(s).
std::string format_html(const RunSummary& s, const std::string& source_lines = "");

}  // namespace tcpr::replay
