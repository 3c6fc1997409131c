// A minimal JSON reader for tests that check the programs' --json output (no dependency).
// Accepts RFC 8259 JSON; numbers keep their text so 64-bit integers stay exact.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tcpr::test {

class Json {
  public:
    enum class Type { Null, Bool, Number, String, Array, Object };

    // Throws std::runtime_error("json: <what> at offset N") on malformed input or trailing text.
    static Json parse(std::string_view text);

    Type type() const { return type_; }
    bool is_null() const { return type_ == Type::Null; }
    // Typed accessors throw std::runtime_error on a type mismatch or a missing key/index.
    bool as_bool() const;
    uint64_t as_u64() const;  // a non-negative integer
    double as_double() const;
    const std::string& as_string() const;
    const std::vector<Json>& as_array() const;
    const Json& operator[](const std::string& key) const;
    const Json& operator[](size_t index) const;
    bool contains(const std::string& key) const;
    size_t size() const;  // elements of an array or members of an object

  private:
    friend class JsonParser;
    Type type_ = Type::Null;
    bool bool_ = false;
    std::string text_;  // string value, or the number's text
    std::vector<Json> items_;
    std::map<std::string, Json> members_;
};

}  // namespace tcpr::test
