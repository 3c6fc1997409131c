// The one catch site of each program: maps errors to "<prog>: error: <message>" and exit codes.
#pragma once

#include <functional>
#include <optional>

namespace CLI {
class App;
}

namespace tcpr {

// Exit codes shared by the programs (docs/cli.md).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;    // the operation failed (one error line on stderr)
constexpr int kExitUsage = 2;    // bad command line (CLI11's message)
constexpr int kExitDamaged = 3;  // verify/replay completed but found damage/failures

// Sets the log program name, installs the stop-signal handlers, runs fn and returns its exit
// code; tcpr::Error and std::exception become one stderr line and kExitError.
int run_main(const char* program, const std::function<int()>& fn);

// Parses the command line. Returns an exit code when the program should stop now (--help,
// --version: printed, code 0); throws tcpr::Error(Usage) with CLI11's message + " (see --help)"
// for every parse error, so usage errors are one "<prog>: error: ..." line and exit 2 like ours.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);

}  // namespace tcpr
