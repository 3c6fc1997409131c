// LogHistogram: bucket bounds, percentiles within 1/16 of the true value, and exact merges (the
// merged histogram of two halves is the histogram of the whole).
#include "common/base/log_histogram.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

namespace tcpr {

TEST_CASE("log histogram buckets: exact below 16, 16 per power of two above", "[base][histogram]") {
    for (uint64_t v = 0; v < 16; ++v) {
        CHECK(LogHistogram::bucket_of(v) == v);
        CHECK(LogHistogram::bucket_floor(static_cast<uint32_t>(v)) == v);
    }
    CHECK(LogHistogram::bucket_of(16) == 16);
    CHECK(LogHistogram::bucket_of(31) == 31);
    CHECK(LogHistogram::bucket_of(32) == 32);
    CHECK(LogHistogram::bucket_of(33) == 32);  // 32..33 share a bucket
    CHECK(LogHistogram::bucket_floor(LogHistogram::bucket_of(1'000'000)) <= 1'000'000);
    for (uint64_t v : {17ull, 100ull, 4097ull, 123'456'789ull, 1ull << 40}) {
        const uint32_t b = LogHistogram::bucket_of(v);
        CHECK(LogHistogram::bucket_floor(b) <= v);
        CHECK(LogHistogram::bucket_floor(b + 1) > v);
        CHECK(LogHistogram::bucket_floor(b + 1) - LogHistogram::bucket_floor(b) <= v / 16 + 1);
    }
}

TEST_CASE("log histogram percentiles are within 1/16 of the values'", "[base][histogram]") {
    std::mt19937_64 rng(7);
    std::lognormal_distribution<double> dist(7.0, 1.5);  // microseconds around 1 ms
    std::vector<uint64_t> values;
    LogHistogram h;
    for (int i = 0; i < 20'000; ++i) {
        const auto v = static_cast<uint64_t>(dist(rng));
        values.push_back(v);
        h.add(v);
    }
    std::sort(values.begin(), values.end());
    CHECK(h.count() == values.size());
    CHECK(h.min() == values.front());
    CHECK(h.max() == values.back());
    for (double q : {0.5, 0.9, 0.99}) {
        const uint64_t exact = values[static_cast<size_t>(q * values.size()) - 1];
        const uint64_t got = h.percentile(q);
        CAPTURE(q, exact, got);
        CHECK(static_cast<double>(got) >= static_cast<double>(exact) * (1 - 1.0 / 16) - 1);
        CHECK(static_cast<double>(got) <= static_cast<double>(exact) * (1 + 1.0 / 16) + 1);
    }
    CHECK(LogHistogram().percentile(0.5) == 0);
}

TEST_CASE("log histograms merge exactly", "[base][histogram]") {
    LogHistogram whole, a, b;
    for (uint64_t v = 0; v < 5000; v += 7) {
        whole.add(v * v);
        (v % 2 == 0 ? a : b).add(v * v);
    }
    LogHistogram merged = a;
    merged.merge(b);
    CHECK(merged == whole);
    CHECK(merged.percentile(0.99) == whole.percentile(0.99));
    CHECK(merged.to_json() == whole.to_json());
    LogHistogram empty;
    empty.merge(a);
    CHECK(empty == a);
    CHECK(a.to_json().find("\"buckets\": [[") != std::string::npos);
}

TEST_CASE("a log histogram is rebuilt exactly from what to_json writes", "[base][histogram]") {
    LogHistogram h;
    for (uint64_t v = 3; v < 100'000; v = v * 3 + 1) {
        h.add(v, v % 5 + 1);
    }
    const auto back = LogHistogram::from_parts(h.buckets(), h.min(), h.max(), h.sum());
    REQUIRE(back);
    CHECK(*back == h);
    CHECK(back->to_json() == h.to_json());
    CHECK(h.to_json().find("\"sum\": " + std::to_string(h.sum())) != std::string::npos);
    const auto empty = LogHistogram::from_parts({}, 0, 0, 0);
    REQUIRE(empty);
    CHECK(*empty == LogHistogram());
    // Parts that no histogram has.
    CHECK_FALSE(LogHistogram::from_parts({}, 0, 5, 0));
    CHECK_FALSE(LogHistogram::from_parts({{3, 1}, {3, 1}}, 3, 3, 6));   // bucket twice
    CHECK_FALSE(LogHistogram::from_parts({{3, 0}}, 3, 3, 0));           // empty bucket
    CHECK_FALSE(LogHistogram::from_parts({{3, 1}}, 4, 4, 4));           // min not in it
    CHECK_FALSE(LogHistogram::from_parts({{3, 1}, {40, 1}}, 3, 3, 6));  // max not in the last
    CHECK_FALSE(LogHistogram::from_parts({{5000, 1}}, 0, 0, 0));        // no such bucket
}

}  // namespace tcpr
