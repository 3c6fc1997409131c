// Small helpers for summaries (std only; the skip counters are net/skip_reason.h's).
#pragma once

#include <cstdint>
#include <string>

namespace tcpr {

// "1.5 MiB", "12.0 GiB"
std::string human_bytes(uint64_t n);

// A count for a status line: "9999", "12.3k" (from 10,000), "45.6M" (from 10,000,000).
std::string count_text(uint64_t v);

// `v` with `decimals` digits after the point: "0.75", "12.000".
std::string fixed_text(double v, int decimals);

}  // namespace tcpr
