// How far actual send times were from their scheduled times, as a compact histogram: the
// replay's timing fidelity (docs/benchmarks.md, "Replay"). Values are |actual - scheduled| in
// nanoseconds; buckets are log-linear (exact below 16 ns, then 16 per power of two, so a bucket
// is at most 6.25% wide) and a percentile is reported as its bucket's upper bound, capped at
// the exact maximum: never optimistic by more than a bucket.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace tcpr::replay {

class LatenessHistogram {
  public:
    static constexpr int kSubBits = 4;  // 16 sub-buckets per power of two
    static constexpr int kBuckets = (64 - kSubBits + 1) << kSubBits;

    // One send: `actual_ns` and `scheduled_ns` on the same clock.
    void record(uint64_t scheduled_ns, uint64_t actual_ns);
    // Adds another histogram's sends (the buckets are fixed: exact).
    void merge(const LatenessHistogram& other);

    uint64_t count() const { return count_; }
    uint64_t early() const { return early_; }  // sends before their scheduled time
    uint64_t max_ns() const { return max_; }
    uint64_t mean_ns() const { return count_ ? sum_ / count_ : 0; }
    uint64_t sum_ns() const { return sum_; }
    // The smallest bucket bound that at least `fraction` (0..1] of the values do not exceed
    // (capped at max_ns()); 0 when empty.
    uint64_t percentile_ns(double fraction) const;

    // Non-empty buckets as (index, count), in index order (the JSON report's "buckets").
    std::vector<std::pair<int, uint64_t>> buckets() const;
    // The histogram of a parsed report: its non-empty buckets, early sends, max and sum.
    // nullopt when they cannot be one histogram's (a bucket out of range, repeated or empty,
    // more early sends than sends, max outside the last bucket).
    static std::optional<LatenessHistogram> from_parts(
        const std::vector<std::pair<int, uint64_t>>& buckets, uint64_t early, uint64_t max_ns,
        uint64_t sum_ns);

    bool operator==(const LatenessHistogram& o) const = default;

    static int bucket_of(uint64_t v);
    static uint64_t upper_bound(int bucket);  // largest value in that bucket

  private:
    std::array<uint64_t, kBuckets> buckets_{};
    uint64_t count_ = 0, early_ = 0, max_ = 0, sum_ = 0;
};

}  // namespace tcpr::replay
