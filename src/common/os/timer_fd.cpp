#include "common/os/timer_fd.h"

#include <cerrno>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/base/error.h"

namespace tcpr::os {

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

TimerFd TimerFd::create() {
    const int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) {
        throw_errno("cannot create a timer", errno);
    }
    return TimerFd(UniqueFd::adopt(fd));
}

void TimerFd::arm_at(uint64_t at_ns) {
    if (at_ns == 0) {
        at_ns = 1;  // 0 would disarm
    }
    if (armed_ != 0 && armed_ <= at_ns) {
        return;  // it fires earlier anyway (the loop then asks again): no system call
    }
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(at_ns / 1'000'000'000ull);
    spec.it_value.tv_nsec = static_cast<long>(at_ns % 1'000'000'000ull);
    if (timerfd_settime(fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
        throw_errno("cannot arm the timer", errno);
    }
    armed_ = at_ns;
}

void TimerFd::disarm() {
    itimerspec spec{};
    (void)timerfd_settime(fd_.get(), 0, &spec, nullptr);
    armed_ = 0;
}

void TimerFd::acknowledge() {
    uint64_t expirations = 0;
    while (::read(fd_.get(), &expirations, sizeof expirations) < 0 && errno == EINTR) {
    }
    armed_ = 0;
}

}  // namespace tcpr::os
