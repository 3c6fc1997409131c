// TimerFd as the run loops use it: armed at absolute times, re-armed only for an earlier time.
#include "common/os/timer_fd.h"

#include <poll.h>

#include <catch2/catch.hpp>

namespace tcpr::os {
namespace {

constexpr uint64_t kMs = 1'000'000;

// Milliseconds until the timer's fd became readable (poll), or -1 after `limit_ms`.
int64_t ms_until_readable(const TimerFd& t, uint64_t since, int limit_ms) {
    pollfd p{t.fd(), POLLIN, 0};
    if (::poll(&p, 1, limit_ms) <= 0) {
        return -1;
    }
    return static_cast<int64_t>((monotonic_ns() - since) / kMs);
}

}  // namespace

TEST_CASE("a timer fires at its time; a later time leaves it, an earlier one re-arms it",
          "[os][timer]") {
    TimerFd t = TimerFd::create();
    uint64_t now = monotonic_ns();
    t.arm_at(now + 60 * kMs);
    t.arm_at(now + 5'000 * kMs);  // later: the earlier deadline stays
    const int64_t first = ms_until_readable(t, now, 3'000);
    CHECK(first >= 59);
    CHECK(first < 2'000);
    t.acknowledge();

    now = monotonic_ns();
    t.arm_at(now + 5'000 * kMs);
    t.arm_at(now + 30 * kMs);  // earlier: re-armed
    const int64_t second = ms_until_readable(t, now, 3'000);
    CHECK(second >= 29);
    CHECK(second < 2'000);
    t.acknowledge();

    // A time in the past fires at once; acknowledge() makes the fd quiet again.
    t.arm_at(1);
    CHECK(ms_until_readable(t, monotonic_ns(), 1'000) >= 0);
    t.acknowledge();
    t.disarm();
    CHECK(ms_until_readable(t, monotonic_ns(), 50) == -1);
}

}  // namespace tcpr::os
