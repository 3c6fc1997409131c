#include "common/cli/run_main.h"

#include <cstdio>
#include <exception>

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

}  // namespace tcpr
