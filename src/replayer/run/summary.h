// The run's report, built in one place for archive replay and live passthrough: the
// RunSummary's common part from the command line, the transport and the run loop, the input's
// part from the session source; then the summary on stdout and --report json / html.
#pragma once

#include <string>

#include "replayer/report/report.h"
#include "replayer/run/replay_options.h"
#include "replayer/run/run_loop.h"
#include "replayer/source/session_source.h"
#include "replayer/transport/transport.h"

namespace tcpr::replay {

// `transport_text`: describe_transport(); `diff_file`: the published --diff file ("" = none).
RunSummary build_summary(const ReplayOptions& o, const std::string& transport_text,
                         const std::string& diff_file, const Transport& transport,
                         const SessionSource& source, const RunResult& run);

// Prints the summary (with the source's own lines) to stdout and writes --report json and
// --report html, each atomically (throws Error(Io) when it cannot).
void publish_summary(const ReplayOptions& o, const RunSummary& s, const SessionSource& source);

}  // namespace tcpr::replay
