// A timerfd on CLOCK_MONOTONIC armed at absolute times: a run loop waits in epoll and wakes at
// a deadline with microsecond precision (epoll_wait's own timeout only has milliseconds).
#pragma once

#include <cstdint>

#include "common/os/unique_fd.h"

namespace tcpr::os {

// Nanoseconds of CLOCK_MONOTONIC (the clock TimerFd and std::chrono::steady_clock use).
uint64_t monotonic_ns();

class TimerFd {
  public:
    // Nonblocking, close-on-exec. Throws Error(Io) if the kernel refuses.
    static TimerFd create();
    int fd() const { return fd_.get(); }
    // Fires (becomes readable) at monotonic time `at_ns` at the latest; a time in the past fires
    // at once. A timer already armed for an earlier time is left as it is (a run loop that asks
    // every turn makes one system call per wake-up, not one per turn).
    void arm_at(uint64_t at_ns);
    void disarm();
    // Consumes the expiration count so the fd is no longer readable.
    void acknowledge();

  private:
    explicit TimerFd(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
    uint64_t armed_ = 0;
};

}  // namespace tcpr::os
