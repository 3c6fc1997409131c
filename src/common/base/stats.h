// Small helpers for summaries (std only; the skip counters are net/skip_reason.h's).
#pragma once

#include <cstdint>
#include <string>

namespace tcpr {

// "1.5 MiB", "12.0 GiB"
std::string human_bytes(uint64_t n);

}  // namespace tcpr
