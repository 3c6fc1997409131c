#include "common/base/stats.h"

#include <cstdio>

namespace tcpr {

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

std::string count_text(uint64_t v) {
    char buf[32];
    if (v >= 10'000'000) {
        std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(v) / 1e6);
    } else if (v >= 10'000) {
        std::snprintf(buf, sizeof buf, "%.1fk", static_cast<double>(v) / 1e3);
    } else {
        std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
    }
    return buf;
}

std::string fixed_text(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

}  // namespace tcpr
