// Scheduler with exact expected start times: speed, copies, loops, duration, max.
#include "replayer/schedule/scheduler.h"

#include <vector>

#include <catch2/catch.hpp>

namespace tcpr::replay {
namespace {

constexpr uint64_t kMs = 1'000'000;

std::vector<StartEvent> drain(Scheduler& s) {
    std::vector<StartEvent> out;
    for (int guard = 0; guard < 100'000 && !s.done(); ++guard) {
        out.push_back(*s.peek());
        s.pop();
    }
    return out;
}

}  // namespace

TEST_CASE("scale_time is exact integer division by the speed", "[replay][scheduler]") {
    CHECK(scale_time(1000 * kMs, 1000) == 1000 * kMs);
    CHECK(scale_time(1000 * kMs, 2000) == 500 * kMs);
    CHECK(scale_time(1000 * kMs, 500) == 2000 * kMs);
    CHECK(scale_time(1000 * kMs, 3000) == 333'333'333);
    CHECK(scale_time(1000 * kMs, 0) == 0);
    // Days of recording at 0.001x do not overflow.
    CHECK(scale_time(86'400'000 * kMs, 1) == 86'400'000'000 * kMs);
}

TEST_CASE("start times follow recorded offsets divided by the speed", "[replay][scheduler]") {
    const std::vector<uint64_t> offsets{0, 100 * kMs, 250 * kMs, 1000 * kMs};
    SECTION("1x") {
        Scheduler s(offsets, 1000 * kMs, {1000, 1, 1, {}});
        const auto ev = drain(s);
        REQUIRE(ev.size() == 4);
        CHECK(ev[0] == StartEvent{0, 0, 0, 0});
        CHECK(ev[1] == StartEvent{100 * kMs, 1, 0, 0});
        CHECK(ev[2] == StartEvent{250 * kMs, 2, 0, 0});
        CHECK(ev[3] == StartEvent{1000 * kMs, 3, 0, 0});
    }
    SECTION("2x") {
        Scheduler s(offsets, 1000 * kMs, {2000, 1, 1, {}});
        const auto ev = drain(s);
        REQUIRE(ev.size() == 4);
        CHECK(ev[1].due_ns == 50 * kMs);
        CHECK(ev[2].due_ns == 125 * kMs);
        CHECK(ev[3].due_ns == 500 * kMs);
    }
    SECTION("0.5x") {
        Scheduler s(offsets, 1000 * kMs, {500, 1, 1, {}});
        const auto ev = drain(s);
        CHECK(ev[3].due_ns == 2000 * kMs);
    }
    SECTION("max starts everything at once, in recorded order") {
        Scheduler s(offsets, 1000 * kMs, {0, 1, 1, {}});
        const auto ev = drain(s);
        REQUIRE(ev.size() == 4);
        for (size_t i = 0; i < ev.size(); ++i) {
            CHECK(ev[i].due_ns == 0);
            CHECK(ev[i].session == i);
        }
    }
}

TEST_CASE("copies start together; loops repeat after the recording's span", "[replay][scheduler]") {
    const std::vector<uint64_t> offsets{0, 300 * kMs};
    Scheduler s(offsets, 400 * kMs, {2000, 3, 2, {}});
    CHECK(s.total() == 12);
    CHECK(s.loop_period_ns() == 200 * kMs);
    const auto ev = drain(s);
    REQUIRE(ev.size() == 12);
    const std::vector<StartEvent> expected{
        {0, 0, 0, 0},         {0, 0, 1, 0},         {0, 0, 2, 0},         {150 * kMs, 1, 0, 0},
        {150 * kMs, 1, 1, 0}, {150 * kMs, 1, 2, 0}, {200 * kMs, 0, 0, 1}, {200 * kMs, 0, 1, 1},
        {200 * kMs, 0, 2, 1}, {350 * kMs, 1, 0, 1}, {350 * kMs, 1, 1, 1}, {350 * kMs, 1, 2, 1},
    };
    CHECK(ev == expected);
    CHECK(s.last_due_ns() == 350 * kMs);
    CHECK(s.returned() == 12);
}

TEST_CASE("due times never decrease and are computed from the run start (no drift)",
          "[replay][scheduler]") {
    // 1000 loops of a 3-session recording at 3x: the last start is exactly
    // 999 x span/3 + offset/3, not a sum of rounded steps.
    const std::vector<uint64_t> offsets{0, 1, 1'000'000'007};
    const uint64_t span = 2'000'000'011;
    Scheduler s(offsets, span, {3000, 1, 1000, {}});
    uint64_t prev = 0;
    StartEvent last;
    for (int i = 0; i < 10'000 && !s.done(); ++i) {
        last = *s.peek();
        CHECK(last.due_ns >= prev);
        prev = last.due_ns;
        s.pop();
    }
    CHECK(s.returned() == 3000);
    CHECK(last.loop == 999);
    CHECK(last.due_ns == 999 * scale_time(span, 3000) + scale_time(1'000'000'007, 3000));
}

TEST_CASE("the duration cap stops starts at or after it", "[replay][scheduler]") {
    const std::vector<uint64_t> offsets{0, 100 * kMs, 200 * kMs};
    Scheduler s(offsets, 300 * kMs, {1000, 2, 10, 450 * kMs});
    const auto ev = drain(s);
    // Loop 0: 0, 100, 200 ms; loop 1: 300, 400 ms (x2 copies); 500 ms is past the cap.
    REQUIRE(ev.size() == 10);
    CHECK(ev.back().due_ns == 400 * kMs);
    CHECK(s.done());
    CHECK(s.total() == 60);
}

TEST_CASE("an empty recording schedules nothing", "[replay][scheduler]") {
    Scheduler s({}, 0, {1000, 3, 3, {}});
    CHECK(s.done());
    CHECK(s.total() == 0);
    CHECK(s.last_due_ns() == 0);
}

}  // namespace tcpr::replay
