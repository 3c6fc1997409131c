// JSON text helpers for the programs' reports (no JSON library is among our dependencies).
#pragma once

#include <string>

namespace tcpr {

// `s` as a JSON string literal, quotes included; control characters are \u-escaped.
std::string json_string(const std::string& s);

}  // namespace tcpr
