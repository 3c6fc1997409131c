// A histogram of non-negative integers (latencies in microseconds) in log-linear buckets: values
// below 16 exactly, above that 16 buckets per power of two (any value is off by at most 1/16 of
// itself). Buckets are fixed, so two histograms merge exactly: the merge of the histograms of
// two runs is the histogram of both runs' values, and its percentiles are those of the union
// (the comparison report, merged shard reports).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tcpr {

class LogHistogram {
  public:
    void add(uint64_t value, uint64_t count = 1);
    void merge(const LogHistogram& other);

    uint64_t count() const { return count_; }
    uint64_t max() const { return max_; }
    uint64_t min() const { return count_ == 0 ? 0 : min_; }
    uint64_t sum() const { return sum_; }
    // The value at quantile q (0..1): the middle of the bucket holding it, within [min, max];
    // 0 when empty.
    uint64_t percentile(double q) const;

    // Bucket index of a value, and the smallest value of a bucket (for tests and the report's
    // bucket lists).
    static uint32_t bucket_of(uint64_t value);
    static uint64_t bucket_floor(uint32_t bucket);
    // Non-empty buckets as (index, count), in index order.
    std::vector<std::pair<uint32_t, uint64_t>> buckets() const;

    // {"count": N, "min": .., "p50": .., "p90": .., "p99": .., "max": .., "sum": ..,
    //  "buckets": [[i, n], ...]}: everything from_parts() needs to rebuild it exactly.
    std::string to_json() const;
    // The histogram to_json() wrote, from its non-empty buckets (index, count) and its min, max
    // and sum (a parsed report, replayer/report/report_merge.h). nullopt when they cannot be one
    // histogram's: a bucket index out of range or repeated, min or max outside the first or
    // last bucket, or numbers where there is no value.
    static std::optional<LogHistogram> from_parts(
        const std::vector<std::pair<uint32_t, uint64_t>>& buckets, uint64_t min, uint64_t max,
        uint64_t sum);

    bool operator==(const LogHistogram& o) const = default;

  private:
    std::vector<uint64_t> counts_;  // by bucket, grown on demand
    uint64_t count_ = 0, sum_ = 0, min_ = 0, max_ = 0;
};

}  // namespace tcpr
