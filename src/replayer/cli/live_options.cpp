#include "replayer/cli/live_options.h"

#include <filesystem>

#include <CLI/CLI.hpp>

#include "common/base/error.h"
#include "common/base/parse.h"
#include "replayer/cli/options.h"

namespace tcpr::replay {
namespace {

// Options that only mean something when copying live traffic.
constexpr const char* kLiveOnly[] = {"--record",     "--daemon",       "--pidfile",
                                     "--logfile",    "--idle-timeout", "--stats-interval",
                                     "--max-buffer", "--max-lag",      "--promisc"};
// Options that only mean something when replaying a file.
constexpr const char* kFileOnly[] = {"--speed", "--loop", "--dry-run"};

std::string absolute(const std::string& path) {
    std::error_code ec;
    const auto p = std::filesystem::absolute(path, ec);
    return ec ? path : p.string();
}

}  // namespace

void LiveCommandLine::add(CLI::App& app, LiveOptions& live) {
    app_ = &app;
    auto* group = app.add_option_group(
        "Live passthrough",
        "Without --in: copy every new connection to the online port (-p) as it happens");
    group->add_option("--record", live.record,
                      "Also write the captured traffic to this archive (.pcap.zst)");
    group->add_flag("-d,--daemon", live.daemon, "Run in the background (with --logfile)");
    group->add_option("--pidfile", live.pidfile, "Write the process id here (removed at exit)");
    group->add_option("--logfile", live.logfile, "With -d: diagnostics and the summary go here");
    group->add_option("--idle-timeout", idle_text_,
                      "A live connection quiet this long is over (default 120s)");
    group->add_option("--stats-interval", stats_text_,
                      "Period of the stats line when stderr is not a terminal (default 10s)");
    group->add_option("--max-buffer", buffer_text_,
                      "Client bytes held for copies, all sessions (default 256M)");
    group->add_option("--max-lag", lag_text_,
                      "A connection whose copies are this far behind ends each copy after the "
                      "request it is on, and new connections are not copied while any is (both "
                      "counted): the copies catch up (default 10s; 0: never shed)");
    group->add_flag("--promisc", live.promiscuous, "Capture in promiscuous mode");
}

void LiveCommandLine::check(ReplayOptions& o) const {
    if (!is_live(o)) {
        for (const char* name : kLiveOnly) {
            if (app_ != nullptr && app_->count(name) > 0) {
                throw Error(ErrorKind::Usage,
                            std::string(name) + " applies to live passthrough (without --in)");
            }
        }
        return;
    }
    for (const char* name : kFileOnly) {
        if (app_ != nullptr && app_->count(name) > 0) {
            throw Error(ErrorKind::Usage,
                        std::string(name) +
                            " applies to replaying a file (--in): live sessions are copied "
                            "as they happen");
        }
    }
    if (!o.builder.selection.server_port) {
        throw Error(ErrorKind::Usage,
                    "nothing to replay: give --in FILE (an archive or pcap), or the online port "
                    "to copy live (-p PORT, or tcpcopy's -x PORT-TARGET_IP:PORT)");
    }
    if (o.builder.selection.from_ns != 0 || o.builder.selection.to_ns) {
        throw Error(ErrorKind::Usage,
                    "--sessions FROM-TO applies to files: live sessions are copied as they happen");
    }
    if (!o.live.logfile.empty() && !o.live.daemon) {
        throw Error(ErrorKind::Usage,
                    "--logfile needs -d/--daemon (in the foreground, diagnostics go to stderr)");
    }
    if (o.interface.empty()) {
        o.interface = "any";
    }
    if (!idle_text_.empty()) {
        o.live.idle_ns =
            static_cast<uint64_t>(parse_duration(idle_text_, "--idle-timeout").count());
    }
    if (!stats_text_.empty()) {
        o.live.stats_interval_ns =
            static_cast<uint64_t>(parse_duration(stats_text_, "--stats-interval").count());
    }
    if (!buffer_text_.empty()) {
        o.live.max_buffer_bytes = parse_size(buffer_text_, "--max-buffer");
    }
    if (!lag_text_.empty()) {
        o.live.max_lag_ns =
            lag_text_ == "0"
                ? 0
                : static_cast<uint64_t>(parse_duration(lag_text_, "--max-lag").count());
    }
    // -d changes the working directory to /.
    if (!o.live.record.empty()) {
        o.live.record = absolute(o.live.record);
    }
    if (!o.report_json.empty()) {
        o.report_json = absolute(o.report_json);
    }
    if (!o.report_html.empty()) {
        o.report_html = absolute(o.report_html);
    }
}

}  // namespace tcpr::replay
