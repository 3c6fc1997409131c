#include "common/net/skip_reason.h"

namespace tcpr::net {

const char* to_string(SkipReason reason) {
    switch (reason) {
        case SkipReason::Truncated:
            return "truncated";
        case SkipReason::UnsupportedLink:
            return "unsupported-link";
        case SkipReason::NotIp:
            return "not-ip";
        case SkipReason::NotTcp:
            return "not-tcp";
        case SkipReason::Fragment:
            return "ip-fragment";
        case SkipReason::Malformed:
            return "malformed";
        case SkipReason::OutsideFilter:
            return "outside-filter";
        case SkipReason::kCount:
            break;
    }
    return "unknown";
}

uint64_t SkipCounts::total() const {
    uint64_t t = 0;
    for (uint64_t n : by_reason) {
        t += n;
    }
    return t;
}

std::string SkipCounts::breakdown() const {
    std::string out;
    for (int i = 0; i < kSkipReasonCount; ++i) {
        if (by_reason[i] == 0) {
            continue;
        }
        if (!out.empty()) {
            out += ' ';
        }
        out += to_string(static_cast<SkipReason>(i));
        out += '=';
        out += std::to_string(by_reason[i]);
    }
    return out;
}

SkipCounts& SkipCounts::operator+=(const SkipCounts& o) {
    for (int i = 0; i < kSkipReasonCount; ++i) {
        by_reason[i] += o.by_reason[i];
    }
    return *this;
}

}  // namespace tcpr::net
