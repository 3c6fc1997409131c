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

}  // namespace tcpr::net
