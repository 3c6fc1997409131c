#include "replayer/run/summary.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>
#include <unistd.h>

#include "common/base/error.h"
#include "common/os/files.h"
#include "common/os/privileges.h"
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

void become_user(const ReplayOptions& o, const std::vector<std::string>& reread_inputs) {
    if (!os::drop_privileges(o.user, o.user_given)) {
        return;
    }
    try {
        check_output_paths(o);
        // Live passthrough creates these after the switch (daemonize, LiveRecorder).
        const std::pair<const std::string*, const char*> live[] = {{&o.live.record, "--record"},
                                                                   {&o.live.logfile, "--logfile"},
                                                                   {&o.live.pidfile, "--pidfile"}};
        for (const auto& [path, what] : live) {
            if (!path->empty()) {
                os::check_output_path(*path, what);
            }
        }
        for (const std::string& path : reread_inputs) {
            if (::access(path.c_str(), R_OK) != 0) {
                throw Error(ErrorKind::Io,
                            "cannot read '" + path + "' again for --loop: " + std::strerror(errno));
            }
        }
    } catch (const Error& e) {
        throw Error(e.kind(), e.what() + os::as_user_hint(o.user));
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
