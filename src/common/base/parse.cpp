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

namespace {

// Digits of `text` from `at`, exactly `n` of them, as a number; false if they are not.
bool digits(const std::string& text, size_t at, size_t n, int& out) {
    if (at + n > text.size()) {
        return false;
    }
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
        out = out * 10 + (text[i] - '0');
    }
    return true;
}

// ".25" at `at` -> nanoseconds; `at` moves past it. No fraction: 0.
uint64_t fraction_ns(const std::string& text, size_t& at) {
    if (at >= text.size() || text[at] != '.') {
        return 0;
    }
    ++at;
    uint64_t ns = 0, scale = 100'000'000;
    const size_t from = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
        ns += static_cast<uint64_t>(text[at] - '0') * scale;
        scale /= 10;
        ++at;
    }
    return at == from ? UINT64_MAX : ns;
}

}  // namespace

uint64_t parse_wall_time(const std::string& text, const std::string& option) {
    constexpr const char* kExpected = "an RFC 3339 time like 2026-12-07T01:00:00Z or Unix seconds";
    if (!text.empty() && text.find_first_not_of("0123456789.") == std::string::npos) {
        size_t at = text.find('.');
        const std::string whole = text.substr(0, at);
        if (whole.empty() || whole.size() > 11) {
            bad(option, text, kExpected);
        }
        at = at == std::string::npos ? text.size() : at;
        const uint64_t frac = fraction_ns(text, at);
        if (frac == UINT64_MAX || at != text.size()) {
            bad(option, text, kExpected);
        }
        return std::stoull(whole) * 1'000'000'000ULL + frac;
    }
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    const bool sep = text.size() > 10 && (text[10] == 'T' || text[10] == 't' || text[10] == ' ');
    if (!digits(text, 0, 4, year) || text.size() < 19 || text[4] != '-' ||
        !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) || !sep ||
        !digits(text, 11, 2, hour) || text[13] != ':' || !digits(text, 14, 2, minute) ||
        text[16] != ':' || !digits(text, 17, 2, second) || year < 1970 || month < 1 || month > 12 ||
        day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
        bad(option, text, kExpected);
    }
    size_t at = 19;
    const uint64_t frac = fraction_ns(text, at);
    if (frac == UINT64_MAX) {
        bad(option, text, kExpected);
    }
    int64_t offset_s = 0;
    if (at < text.size() && (text[at] == 'Z' || text[at] == 'z') && at + 1 == text.size()) {
        offset_s = 0;
    } else if (at < text.size() && (text[at] == '+' || text[at] == '-') && at + 6 == text.size() &&
               text[at + 3] == ':') {
        int oh = 0, om = 0;
        if (!digits(text, at + 1, 2, oh) || !digits(text, at + 4, 2, om) || oh > 23 || om > 59) {
            bad(option, text, kExpected);
        }
        offset_s = (text[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    } else {
        bad(option, text, kExpected);  // RFC 3339 requires the offset
    }
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    const int64_t t = static_cast<int64_t>(timegm(&tm)) - offset_s;
    if (t < 0 || tm.tm_mday != day) {  // timegm normalises Feb 30 to March: refused
        bad(option, text, kExpected);
    }
    return static_cast<uint64_t>(t) * 1'000'000'000ULL + frac;
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
