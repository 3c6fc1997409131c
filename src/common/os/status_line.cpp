#include "common/os/status_line.h"

#include <cstdio>
#include <unistd.h>

#include "common/base/log.h"

namespace tcpr::os {

StatusLine::StatusLine(bool enabled, std::chrono::milliseconds period,
                       std::chrono::milliseconds plain_period)
    : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1), period_(tty_ ? period : plain_period) {
    last_ = std::chrono::steady_clock::now();
}

StatusLine::~StatusLine() { clear(); }

bool StatusLine::due(std::chrono::steady_clock::time_point now) const {
    return enabled_ && now - last_ >= period_;
}

void StatusLine::show(const std::string& text, std::chrono::steady_clock::time_point now) {
    if (!enabled_) {
        return;
    }
    last_ = now;
    if (tty_) {
        std::fprintf(stderr, "\r%s\033[K", text.c_str());
        shown_ = true;
    } else {
        log::info("%s", text.c_str());
    }
    std::fflush(stderr);
}

void StatusLine::clear() {
    if (enabled_ && tty_ && shown_) {
        std::fprintf(stderr, "\r\033[K");
        std::fflush(stderr);
        shown_ = false;
    }
}

}  // namespace tcpr::os
