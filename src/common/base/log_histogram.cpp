#include "common/base/log_histogram.h"

#include <algorithm>
#include <bit>

namespace tcpr {
namespace {

constexpr uint32_t kSubBits = 4;  // 16 buckets per power of two
constexpr uint64_t kSub = uint64_t{1} << kSubBits;

}  // namespace

uint32_t LogHistogram::bucket_of(uint64_t value) {
    if (value < kSub) {
        return static_cast<uint32_t>(value);
    }
    const uint32_t exp = 63 - static_cast<uint32_t>(std::countl_zero(value));  // >= kSubBits
    const uint64_t sub = (value >> (exp - kSubBits)) & (kSub - 1);
    return static_cast<uint32_t>(kSub + (exp - kSubBits) * kSub + sub);
}

uint64_t LogHistogram::bucket_floor(uint32_t bucket) {
    if (bucket < kSub) {
        return bucket;
    }
    const uint32_t exp = (bucket - kSub) / kSub + kSubBits;
    const uint64_t sub = (bucket - kSub) % kSub;
    return (kSub + sub) << (exp - kSubBits);
}

void LogHistogram::add(uint64_t value, uint64_t count) {
    if (count == 0) {
        return;
    }
    const uint32_t b = bucket_of(value);
    if (b >= counts_.size()) {
        counts_.resize(b + 1, 0);
    }
    counts_[b] += count;
    min_ = count_ == 0 ? value : std::min(min_, value);
    max_ = std::max(max_, value);
    count_ += count;
    sum_ += value * count;
}

void LogHistogram::merge(const LogHistogram& other) {
    if (other.count_ == 0) {
        return;
    }
    if (other.counts_.size() > counts_.size()) {
        counts_.resize(other.counts_.size(), 0);
    }
    for (size_t i = 0; i < other.counts_.size(); ++i) {
        counts_[i] += other.counts_[i];
    }
    min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    count_ += other.count_;
    sum_ += other.sum_;
}

uint64_t LogHistogram::percentile(double q) const {
    if (count_ == 0) {
        return 0;
    }
    q = std::clamp(q, 0.0, 1.0);
    // The rank of the value (1-based), as nearest-rank percentiles count.
    const uint64_t rank =
        std::max<uint64_t>(1, static_cast<uint64_t>(q * static_cast<double>(count_) + 0.999999));
    uint64_t seen = 0;
    for (uint32_t b = 0; b < counts_.size(); ++b) {
        seen += counts_[b];
        if (seen >= rank) {
            const uint64_t lo = bucket_floor(b);
            const uint64_t hi = bucket_floor(b + 1);
            return std::clamp(lo + (hi - lo) / 2, min_, max_);
        }
    }
    return max_;
}

std::vector<std::pair<uint32_t, uint64_t>> LogHistogram::buckets() const {
    std::vector<std::pair<uint32_t, uint64_t>> out;
    for (uint32_t b = 0; b < counts_.size(); ++b) {
        if (counts_[b] != 0) {
            out.emplace_back(b, counts_[b]);
        }
    }
    return out;
}

std::string LogHistogram::to_json() const {
    std::string o =
        "{\"count\": " + std::to_string(count_) + ", \"min\": " + std::to_string(min()) +
        ", \"p50\": " + std::to_string(percentile(0.5)) +
        ", \"p90\": " + std::to_string(percentile(0.9)) +
        ", \"p99\": " + std::to_string(percentile(0.99)) + ", \"max\": " + std::to_string(max_) +
        ", \"sum\": " + std::to_string(sum_) + ", \"buckets\": [";
    bool first = true;
    for (const auto& [b, n] : buckets()) {
        o += (first ? "[" : ", [") + std::to_string(b) + ", " + std::to_string(n) + "]";
        first = false;
    }
    return o + "]}";
}

std::optional<LogHistogram> LogHistogram::from_parts(
    const std::vector<std::pair<uint32_t, uint64_t>>& buckets, uint64_t min, uint64_t max,
    uint64_t sum) {
    LogHistogram h;
    const uint32_t last_bucket = bucket_of(~uint64_t{0});
    for (const auto& [b, n] : buckets) {
        if (b > last_bucket || n == 0 || (b < h.counts_.size() && h.counts_[b] != 0)) {
            return std::nullopt;
        }
        if (b >= h.counts_.size()) {
            h.counts_.resize(b + 1, 0);
        }
        h.counts_[b] = n;
        if (h.count_ + n < h.count_) {
            return std::nullopt;  // overflow: not counts of one histogram
        }
        h.count_ += n;
    }
    if (h.count_ == 0) {
        if (min != 0 || max != 0 || sum != 0) {
            return std::nullopt;
        }
        return h;
    }
    const auto first =
        std::find_if(h.counts_.begin(), h.counts_.end(), [](uint64_t n) { return n != 0; });
    if (min > max || bucket_of(min) != static_cast<uint32_t>(first - h.counts_.begin()) ||
        bucket_of(max) != h.counts_.size() - 1) {
        return std::nullopt;
    }
    h.min_ = min;
    h.max_ = max;
    h.sum_ = sum;
    return h;
}

}  // namespace tcpr
