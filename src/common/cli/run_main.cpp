#include "common/cli/run_main.h"

#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/os/stop_signal.h"

namespace tcpr {

int run_main(const char* program, const std::function<int()>& fn) {
    log::set_program(program);
    os::StopSignal::install();
    try {
        return fn();
    } catch (const Error& e) {
        log::error("%s", e.what());
        return e.kind() == ErrorKind::Usage ? kExitUsage : kExitError;
    } catch (const std::bad_alloc&) {
        log::error("out of memory");
        return kExitError;
    } catch (const std::exception& e) {
        log::error("%s", e.what());
        return kExitError;
    }
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            return app.exit(e);  // --help, --version
        }
        throw Error(ErrorKind::Usage, std::string(e.what()) + " (see --help)");
    }
    return std::nullopt;
}

}  // namespace tcpr
