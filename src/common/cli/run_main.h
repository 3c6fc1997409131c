// The one catch site of each program: maps errors to "<prog>: error: <message>" and exit codes.
#pragma once

#include <functional>

namespace tcpr {

// Exit codes shared by the programs (docs/cli.md).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;     // the operation failed (one error line on stderr)
constexpr int kExitUsage = 2;     // bad command line (CLI11's message)
constexpr int kExitDamaged = 3;   // verify/replay completed but found damage/failures

// Sets the log program name, installs the stop-signal handlers, runs fn and returns its exit
// code; tcpr::Error and std::exception become one stderr line and kExitError.
int run_main(const char* program, const std::function<int()>& fn);

}  // namespace tcpr
