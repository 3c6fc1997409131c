#include "recorder/naming.h"

namespace tcpr::rec {

std::string numbered_name(const std::string& name, int n) {
    const std::string suffix = "-" + std::to_string(n);
    for (const char* ext : {".pcap.zst", ".zst"}) {
        const std::string e = ext;
        if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) {
            return name.substr(0, name.size() - e.size()) + suffix + e;
        }
    }
    const auto slash = name.rfind('/');
    const auto dot = name.rfind('.');
    if (dot != std::string::npos && (slash == std::string::npos || dot > slash + 1)) {
        return name.substr(0, dot) + suffix + name.substr(dot);
    }
    return name + suffix;
}

std::string OutputNamer::next(std::time_t now) {
    std::string base = pattern_;
    if (strftime_) {
        struct tm tm {};
        localtime_r(&now, &tm);
        char buf[4096];
        const size_t n = std::strftime(buf, sizeof buf, pattern_.c_str(), &tm);
        if (n > 0) {
            base.assign(buf, n);
        }
    }
    if (base != last_base_) {
        last_base_ = base;
        part_ = 0;
        return base;
    }
    ++part_;
    return numbered_name(base, part_);
}

}  // namespace tcpr::rec
