// intercept's `--metrics` text (docs/intercept.md, "Metrics"): the server's and the capture's
// counters as they are now, in the Prometheus text format, rendered on the server's loop.
#pragma once

#include <string>

#include "intercept/report_server.h"
#include "intercept/response_capture.h"

namespace tcpr::icpt {

// `capture` may be null (no capture: its metrics are 0).
std::string format_metrics(const ReportServer& server, const ResponseCapture* capture);

}  // namespace tcpr::icpt
