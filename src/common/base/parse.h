// Parsers for command-line values shared by the programs. Each throws tcpr::Error(Usage) with
// a one-line message naming the option and the bad text.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tcpr {

// "90", "90s", "1500ms", "10m", "2h", "1d" -> duration. Must be > 0 unless allow_zero.
std::chrono::nanoseconds parse_duration(const std::string& text, const std::string& option,
                                        bool allow_zero = false);
// "8080" -> 8080; rejects 0 and > 65535.
uint16_t parse_port(const std::string& text, const std::string& option);
// "100", "100k", "10M", "2G" (powers of 1000, like tcpdump's -C) -> bytes.
uint64_t parse_size(const std::string& text, const std::string& option);
// A wall-clock instant: RFC 3339 ("2026-12-07T01:00:00Z", "2026-12-07T02:00:00.5+01:00"; 'T',
// 't' or ' ' between date and time) or Unix seconds ("1796605200", "1796605200.25") -> ns since
// the epoch.
uint64_t parse_wall_time(const std::string& text, const std::string& option);
// "1.5 s", "250 ms", "3 min"
std::string format_duration(std::chrono::nanoseconds d);
// ns since the epoch -> "2026-11-27 23:35:49.123456789 UTC"
std::string format_timestamp(uint64_t ts_ns, int decimals = 6);

}  // namespace tcpr
