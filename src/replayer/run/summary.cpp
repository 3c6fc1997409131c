#include "replayer/run/summary.h"

#include <cstdio>
#include <span>

#include "common/os/files.h"

namespace tcpr::replay {

RunSummary build_summary(const ReplayOptions& o, const std::string& transport_text,
                         const std::string& diff_file, const Transport& transport,
                         const SessionSource& source, const RunResult& run) {
    RunSummary s;
    s.target = o.target.to_string();
    s.mode = o.transport;
    if (o.transport == TransportMode::Raw) {
        s.intercept = o.intercept->to_string();
    }
    s.transport = transport_text;
    s.diff_file = diff_file;
    s.speed_milli = o.speed_milli;
    s.copies = o.copies;
    s.loops = o.loops;
    s.wall_ns = run.wall_ns;
    s.counters = transport.counters();
    s.stop_reason = run.stop_reason;
    s.max_failed_percent = o.max_failed_percent;
    source.summarize(s);
    return s;
}

void publish_summary(const ReplayOptions& o, const RunSummary& s, const SessionSource& source) {
    std::fputs(format_summary(s).c_str(), stdout);
    std::fputs(source.summary_text(s).c_str(), stdout);
    std::fflush(stdout);
    if (!o.report_json.empty()) {
        const std::string json = source.summary_json(s);
        os::AtomicFile f = os::AtomicFile::create(o.report_json);
        f.write(
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
        f.commit();
    }
}

}  // namespace tcpr::replay
