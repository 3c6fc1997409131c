// The send-lateness histogram of the report: bucket bounds, percentiles, early sends.
#include "replayer/transport/lateness.h"

#include <catch2/catch.hpp>

namespace tcpr::replay {

TEST_CASE("lateness buckets are exact below 16 ns and at most 6.25% wide above",
          "[replay][lateness]") {
    for (uint64_t v = 0; v < 16; ++v) {
        CHECK(LatenessHistogram::upper_bound(LatenessHistogram::bucket_of(v)) == v);
    }
    // Every value lies in its bucket, whose width is at most 1/16 of its lower bound.
    for (uint64_t v : {16ull, 17ull, 31ull, 32ull, 33ull, 999ull, 1000ull, 1'000'000ull,
                       123'456'789ull, (1ull << 40) + 12345, ~0ull}) {
        const int b = LatenessHistogram::bucket_of(v);
        const uint64_t hi = LatenessHistogram::upper_bound(b);
        const uint64_t lo = b == 0 ? 0 : LatenessHistogram::upper_bound(b - 1) + 1;
        CHECK(lo <= v);
        CHECK(v <= hi);
        CHECK(hi - lo <= lo / 16);
        CHECK(b < LatenessHistogram::kBuckets);
    }
    // Buckets are contiguous and increasing.
    for (int b = 1; b < LatenessHistogram::kBuckets; ++b) {
        REQUIRE(LatenessHistogram::upper_bound(b) > LatenessHistogram::upper_bound(b - 1));
        REQUIRE(LatenessHistogram::bucket_of(LatenessHistogram::upper_bound(b)) == b);
    }
    CHECK(LatenessHistogram::upper_bound(LatenessHistogram::kBuckets - 1) == ~0ull);
}

TEST_CASE("lateness percentiles, mean, max and early sends", "[replay][lateness]") {
    LatenessHistogram h;
    CHECK(h.count() == 0);
    CHECK(h.percentile_ns(0.99) == 0);
    CHECK(h.mean_ns() == 0);
    // 990 sends 10 us late, 9 sends 500 us late, one 3 ms late.
    const uint64_t t = 1'000'000'000;
    for (int i = 0; i < 990; ++i) {
        h.record(t, t + 10'000);
    }
    for (int i = 0; i < 9; ++i) {
        h.record(t, t + 500'000);
    }
    h.record(t, t + 3'000'000);
    CHECK(h.count() == 1000);
    CHECK(h.early() == 0);
    CHECK(h.max_ns() == 3'000'000);
    CHECK(h.mean_ns() == (990ull * 10'000 + 9ull * 500'000 + 3'000'000) / 1000);
    // A percentile is its bucket's upper bound: at most 6.25% above the true value.
    const uint64_t p50 = h.percentile_ns(0.5);
    CHECK(p50 >= 10'000);
    CHECK(p50 <= 10'625);
    CHECK(h.percentile_ns(0.99) == p50);  // rank 990 is still a 10 us send
    const uint64_t p999 = h.percentile_ns(0.999);
    CHECK(p999 >= 500'000);
    CHECK(p999 <= 531'250);
    CHECK(h.percentile_ns(1.0) == 3'000'000);  // capped at the exact maximum
    // A send before its time counts with its distance and as early.
    h.record(t, t - 4'000'000);
    CHECK(h.early() == 1);
    CHECK(h.max_ns() == 4'000'000);
    CHECK(h.percentile_ns(1.0) == 4'000'000);
}

}  // namespace tcpr::replay
