#include "common/base/stats.h"

#include <cstdio>

namespace tcpr {

uint64_t SkipCounts::total() const {
    uint64_t t = 0;
    for (uint64_t n : by_reason) {
        t += n;
    }
    return t;
}

std::string SkipCounts::breakdown() const {
    std::string out;
    for (int i = 0; i < net::kSkipReasonCount; ++i) {
        if (by_reason[i] == 0) {
            continue;
        }
        if (!out.empty()) {
            out += ' ';
        }
        out += net::to_string(static_cast<net::SkipReason>(i));
        out += '=';
        out += std::to_string(by_reason[i]);
    }
    return out;
}

SkipCounts& SkipCounts::operator+=(const SkipCounts& o) {
    for (int i = 0; i < net::kSkipReasonCount; ++i) {
        by_reason[i] += o.by_reason[i];
    }
    return *this;
}

std::string human_bytes(uint64_t n) {
    static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        ++u;
    }
    char buf[32];
    if (u == 0) {
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
    } else {
        std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
    }
    return buf;
}

}  // namespace tcpr
