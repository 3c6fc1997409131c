// intercept: captures the test server's responses and reports them to the replayers that
// registered their connections. All the work is in the tcpr_intercept library.
#include <CLI/CLI.hpp>

#include "common/cli/run_main.h"
#include "intercept/options.h"

int main(int argc, char** argv) {
    return tcpr::run_main("intercept", [&] {
        CLI::App app{"intercept: report a test server's TCP responses to tcpreplay2"};
        tcpr::icpt::Cli cli(app);
        if (const auto done = tcpr::parse_command_line(app, argc, argv)) {
            return *done;
        }
        return tcpr::icpt::run_intercept(cli.options());
    });
}
