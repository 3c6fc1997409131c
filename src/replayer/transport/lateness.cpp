#include "replayer/transport/lateness.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tcpr::replay {

int LatenessHistogram::bucket_of(uint64_t v) {
    constexpr uint64_t kSub = uint64_t{1} << kSubBits;
    if (v < kSub) {
        return static_cast<int>(v);
    }
    const int e = std::bit_width(v) - 1;  // >= kSubBits
    const int shift = e - kSubBits;
    const auto sub = static_cast<int>((v >> shift) & (kSub - 1));
    return ((shift + 1) << kSubBits) + sub;
}

uint64_t LatenessHistogram::upper_bound(int bucket) {
    constexpr int kSub = 1 << kSubBits;
    if (bucket < kSub) {
        return static_cast<uint64_t>(bucket);
    }
    const int shift = (bucket >> kSubBits) - 1;
    const auto sub = static_cast<uint64_t>(bucket & (kSub - 1));
    const uint64_t lo = (uint64_t{kSub} + sub) << shift;
    return lo + ((uint64_t{1} << shift) - 1);
}

void LatenessHistogram::record(uint64_t scheduled_ns, uint64_t actual_ns) {
    uint64_t d;
    if (actual_ns >= scheduled_ns) {
        d = actual_ns - scheduled_ns;
    } else {
        d = scheduled_ns - actual_ns;
        ++early_;
    }
    ++buckets_[static_cast<size_t>(bucket_of(d))];
    ++count_;
    sum_ += d;
    if (d > max_) {
        max_ = d;
    }
}

void LatenessHistogram::merge(const LatenessHistogram& other) {
    for (size_t b = 0; b < buckets_.size(); ++b) {
        buckets_[b] += other.buckets_[b];
    }
    count_ += other.count_;
    early_ += other.early_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
}

std::vector<std::pair<int, uint64_t>> LatenessHistogram::buckets() const {
    std::vector<std::pair<int, uint64_t>> out;
    for (int b = 0; b < kBuckets; ++b) {
        if (buckets_[static_cast<size_t>(b)] != 0) {
            out.emplace_back(b, buckets_[static_cast<size_t>(b)]);
        }
    }
    return out;
}

std::optional<LatenessHistogram> LatenessHistogram::from_parts(
    const std::vector<std::pair<int, uint64_t>>& buckets, uint64_t early, uint64_t max_ns,
    uint64_t sum_ns) {
    LatenessHistogram h;
    int last = -1;
    for (const auto& [b, n] : buckets) {
        if (b < 0 || b >= kBuckets || n == 0 || h.buckets_[static_cast<size_t>(b)] != 0 ||
            h.count_ + n < h.count_) {
            return std::nullopt;
        }
        h.buckets_[static_cast<size_t>(b)] = n;
        h.count_ += n;
        last = std::max(last, b);
    }
    if (early > h.count_ || (h.count_ == 0 && (max_ns != 0 || sum_ns != 0)) ||
        (h.count_ > 0 && bucket_of(max_ns) != last)) {
        return std::nullopt;
    }
    h.early_ = early;
    h.max_ = max_ns;
    h.sum_ = sum_ns;
    return h;
}

uint64_t LatenessHistogram::percentile_ns(double fraction) const {
    if (count_ == 0) {
        return 0;
    }
    const double want = std::ceil(fraction * static_cast<double>(count_));
    const uint64_t rank = want < 1 ? 1 : static_cast<uint64_t>(want);
    uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
        seen += buckets_[static_cast<size_t>(b)];
        if (seen >= rank) {
            const uint64_t ub = upper_bound(b);
            return ub < max_ ? ub : max_;
        }
    }
    return max_;
}

}  // namespace tcpr::replay
