#include "replayer/run/summary.h"

#include <cstdio>
#include <span>

#include "common/os/files.h"
#include "replayer/report/html_report.h"

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
    s.shard = o.shard;
    s.shards = o.shards;
    s.wall_ns = run.wall_ns;
    s.counters = transport.counters();
    s.stop_reason = run.stop_reason;
    s.max_failed_percent = o.max_failed_percent;
    if (o.compare) {
        const CompiledNoiseRules& rules = o.noise ? *o.noise : CompiledNoiseRules::defaults();
        s.ignored_headers = rules.ignored_header_names();
        s.ignore_body = o.noise_rules.ignore_body;
        s.ignore_json = o.noise_rules.ignore_json;
    }
    source.summarize(s);
    return s;
}

void check_output_paths(const ReplayOptions& o) {
    const std::pair<const std::string*, const char*> outputs[] = {
        {&o.report_json, "--report json"},
        {&o.report_html, "--report html"},
        {&o.report_requests, "--report requests"},
        {&o.diff_file, "--diff"}};
    for (const auto& [path, what] : outputs) {
        if (!path->empty()) {
            os::check_output_path(*path, what);
        }
    }
}

namespace {

void write_atomically(const std::string& path, const std::string& text) {
    os::AtomicFile f = os::AtomicFile::create(path);
    f.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    f.commit();
}

}  // namespace

void publish_summary(const ReplayOptions& o, const RunSummary& s, const SessionSource& source) {
    const std::string source_lines = source.summary_text(s);
    std::fputs(format_summary(s).c_str(), stdout);
    std::fputs(source_lines.c_str(), stdout);
    std::fflush(stdout);
    if (!o.report_json.empty()) {
        write_atomically(o.report_json, source.summary_json(s));
    }
    if (!o.report_html.empty()) {
        write_atomically(o.report_html, format_html(s, source_lines));
    }
}

}  // namespace tcpr::replay
