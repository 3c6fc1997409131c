#include "common/base/parse.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/base/error.h"

namespace tcpr {
namespace {
[[noreturn]] void bad(const std::string& option, const std::string& text, const char* expected) {
    throw Error(ErrorKind::Usage,
                "bad value '" + text + "' for " + option + " (expected " + expected + ")");
}

// Splits "10.5ms" into 10.5 and "ms"; false if no leading number.
bool split_number(const std::string& text, double& value, std::string& unit) {
    size_t pos = 0;
    try {
        value = std::stod(text, &pos);
    } catch (const std::exception&) {
        return false;
    }
    if (!std::isfinite(value) || value < 0) {
        return false;
    }
    unit = text.substr(pos);
    return true;
}
}  // namespace

std::chrono::nanoseconds parse_duration(const std::string& text, const std::string& option,
                                        bool allow_zero) {
    constexpr const char* kExpected = "a duration such as 30s, 1500ms, 10m, 2h";
    double v = 0;
    std::string unit;
    if (!split_number(text, v, unit)) {
        bad(option, text, kExpected);
    }
    double scale = 0;
    if (unit.empty() || unit == "s") {
        scale = 1e9;
    } else if (unit == "ms") {
        scale = 1e6;
    } else if (unit == "us") {
        scale = 1e3;
    } else if (unit == "m" || unit == "min") {
        scale = 60e9;
    } else if (unit == "h") {
        scale = 3600e9;
    } else if (unit == "d") {
        scale = 86400e9;
    } else {
        bad(option, text, kExpected);
    }
    const double ns = v * scale;
    if (ns > 9e18 || (!allow_zero && ns < 1)) {
        bad(option, text, kExpected);
    }
    return std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

uint16_t parse_port(const std::string& text, const std::string& option) {
    if (text.empty() || text.size() > 5 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
        bad(option, text, "a port number 1-65535");
    }
    const unsigned long v = std::stoul(text);
    if (v == 0 || v > 65535) {
        bad(option, text, "a port number 1-65535");
    }
    return static_cast<uint16_t>(v);
}

uint64_t parse_size(const std::string& text, const std::string& option) {
    constexpr const char* kExpected = "a size such as 100M or 2G";
    double v = 0;
    std::string unit;
    if (!split_number(text, v, unit)) {
        bad(option, text, kExpected);
    }
    double scale = 1;
    if (unit.empty() || unit == "M" || unit == "MB") {
        scale = 1e6;  // tcpdump -C counts millions of bytes
    } else if (unit == "k" || unit == "K" || unit == "kB") {
        scale = 1e3;
    } else if (unit == "G" || unit == "GB") {
        scale = 1e9;
    } else if (unit == "B") {
        scale = 1;
    } else {
        bad(option, text, kExpected);
    }
    const double bytes = v * scale;
    if (bytes < 1 || bytes > 1.8e19) {
        bad(option, text, kExpected);
    }
    return static_cast<uint64_t>(bytes);
}

std::string format_duration(std::chrono::nanoseconds d) {
    const double s = static_cast<double>(d.count()) / 1e9;
    char buf[48];
    if (s < 1.0) {
        std::snprintf(buf, sizeof buf, "%.1f ms", s * 1e3);
    } else if (s < 120.0) {
        std::snprintf(buf, sizeof buf, "%.2f s", s);
    } else if (s < 7200.0) {
        std::snprintf(buf, sizeof buf, "%.1f min", s / 60.0);
    } else {
        std::snprintf(buf, sizeof buf, "%.1f h", s / 3600.0);
    }
    return buf;
}

std::string format_timestamp(uint64_t ts_ns, int decimals) {
    const time_t secs = static_cast<time_t>(ts_ns / 1000000000ULL);
    const uint64_t frac = ts_ns % 1000000000ULL;
    struct tm tm {};
    gmtime_r(&secs, &tm);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
    if (decimals <= 0) {
        return std::string(date) + " UTC";
    }
    if (decimals > 9) {
        decimals = 9;
    }
    char fracbuf[16];
    std::snprintf(fracbuf, sizeof fracbuf, "%09llu", static_cast<unsigned long long>(frac));
    return std::string(date) + "." + std::string(fracbuf, static_cast<size_t>(decimals)) + " UTC";
}

}  // namespace tcpr
