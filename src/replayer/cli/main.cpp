// tcpreplay2: replay recorded TCP sessions into a test server with forged client packets,
// following the target's answers through intercept. All the work is in tcpr_replayer.
#include <CLI/CLI.hpp>

#include "common/cli/run_main.h"
#include "replayer/cli/options.h"
#include "replayer/run/live_replay.h"
#include "replayer/run/merge_reports.h"
#include "replayer/run/replay.h"

int main(int argc, char** argv) {
    return tcpr::run_main("tcpreplay2", [&] {
        CLI::App app{
            "tcpreplay2: replay recorded TCP sessions into a test server, as valid TCP, "
            "time-scaled and multiplied"};
        tcpr::replay::CommandLine command_line(app);
        if (const auto done = tcpr::parse_command_line(app, argc, argv)) {
            return *done;
        }
        if (const auto merge = command_line.merge_options()) {
            return tcpr::replay::merge_reports(*merge);
        }
        const tcpr::replay::ReplayOptions options = command_line.options();
        // Without --in: live passthrough of the online port (tcpcopy's mode).
        return tcpr::replay::is_live(options) ? tcpr::replay::run_live(options)
                                              : tcpr::replay::run_replay(options);
    });
}
