#include "common/net/tcp_seq.h"

#include <cstdint>

#include <catch2/catch.hpp>

using namespace tcpr::net;

static_assert(seq_lt(0xffffffffu, 0u), "wrap: 2^32-1 precedes 0");
static_assert(seq_diff(5u, 0xfffffffbu) == 10, "distance across the wrap");

TEST_CASE("sequence comparisons hold across the 2^32 wrap", "[net]") {
    const uint32_t isn = GENERATE(0u, 20u, 0x7fffffffu, 0x80000000u, 0xfffffffbu, 0xffffffffu);
    CAPTURE(isn);
    // Walk 3 MB of a stream in steps of 1448 (a typical MSS) from the ISN.
    uint32_t prev = isn;
    uint64_t total = 0;
    for (int i = 0; i < 2000; ++i) {
        const uint32_t next = prev + 1448u;
        total += 1448;
        CHECK(seq_lt(prev, next));
        CHECK(seq_le(prev, next));
        CHECK(seq_gt(next, prev));
        CHECK(seq_ge(next, prev));
        CHECK_FALSE(seq_lt(next, prev));
        CHECK(seq_diff(next, prev) == 1448);
        CHECK(seq_diff(prev, next) == -1448);
        CHECK(seq_max(prev, next) == next);
        CHECK(seq_max(next, prev) == next);
        CHECK(seq_diff(next, isn) == static_cast<int64_t>(total));
        prev = next;
    }
    CHECK(seq_le(isn, isn));
    CHECK(seq_ge(isn, isn));
    CHECK_FALSE(seq_lt(isn, isn));
    CHECK(seq_diff(isn, isn) == 0);
    CHECK(seq_lt(isn, isn + 1));
    CHECK(seq_lt(isn - 1, isn));
    // Half the space ahead is "after"; just beyond half is "before" (RFC 1982).
    CHECK(seq_gt(isn + 0x7fffffffu, isn));
    CHECK(seq_lt(isn + 0x80000001u, isn));
}

TEST_CASE("sequence helpers are usable at compile time", "[net]") {
    constexpr uint32_t a = 0xfffffff0u;
    constexpr uint32_t b = a + 0x20u;  // wraps to 0x10
    static_assert(b == 0x10u);
    static_assert(seq_lt(a, b));
    static_assert(seq_max(a, b) == b);
    static_assert(seq_diff(b, a) == 0x20);
    CHECK(seq_gt(b, a));
}
