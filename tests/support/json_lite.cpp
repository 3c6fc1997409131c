#include "support/json_lite.h"

#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace tcpr::test {

class JsonParser {
  public:
    explicit JsonParser(std::string_view s) : s_(s) {}

    Json document() {
        Json v = value(0);
        skip_ws();
        if (pos_ != s_.size()) {
            fail("trailing text");
        }
        return v;
    }

  private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error("json: " + what + " at offset " + std::to_string(pos_));
    }
    void skip_ws() {
        while (pos_ < s_.size() &&
               (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
            ++pos_;
        }
    }
    char peek() {
        skip_ws();
        if (pos_ >= s_.size()) {
            fail("unexpected end");
        }
        return s_[pos_];
    }
    void expect(char c) {
        if (peek() != c) {
            fail(std::string("expected '") + c + "'");
        }
        ++pos_;
    }
    bool literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) == word) {
            pos_ += word.size();
            return true;
        }
        return false;
    }

    Json value(int depth) {
        if (depth > 64) {
            fail("nesting too deep");
        }
        Json v;
        const char c = peek();
        if (c == '{') {
            ++pos_;
            v.type_ = Json::Type::Object;
            if (peek() == '}') {
                ++pos_;
                return v;
            }
            while (true) {
                if (peek() != '"') {
                    fail("expected a member name");
                }
                std::string key = string();
                expect(':');
                v.members_[key] = value(depth + 1);
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                expect('}');
                return v;
            }
        }
        if (c == '[') {
            ++pos_;
            v.type_ = Json::Type::Array;
            if (peek() == ']') {
                ++pos_;
                return v;
            }
            while (true) {
                v.items_.push_back(value(depth + 1));
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                expect(']');
                return v;
            }
        }
        if (c == '"') {
            v.type_ = Json::Type::String;
            v.text_ = string();
            return v;
        }
        if (literal("true")) {
            v.type_ = Json::Type::Bool;
            v.bool_ = true;
            return v;
        }
        if (literal("false")) {
            v.type_ = Json::Type::Bool;
            return v;
        }
        if (literal("null")) {
            return v;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            const size_t start = pos_;
            while (pos_ < s_.size() &&
                   std::string_view("+-0123456789.eE").find(s_[pos_]) != std::string_view::npos) {
                ++pos_;
            }
            v.type_ = Json::Type::Number;
            v.text_ = std::string(s_.substr(start, pos_ - start));
            return v;
        }
        fail("unexpected character");
    }

    std::string string() {
        ++pos_;  // opening quote
        std::string out;
        while (true) {
            if (pos_ >= s_.size()) {
                fail("unterminated string");
            }
            const char c = s_[pos_++];
            if (c == '"') {
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) {
                fail("control character in string");
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= s_.size()) {
                fail("unterminated escape");
            }
            const char e = s_[pos_++];
            switch (e) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    if (pos_ + 4 > s_.size()) {
                        fail("short \\u escape");
                    }
                    unsigned cp = 0;
                    const auto r = std::from_chars(s_.data() + pos_, s_.data() + pos_ + 4, cp, 16);
                    if (r.ptr != s_.data() + pos_ + 4) {
                        fail("bad \\u escape");
                    }
                    pos_ += 4;
                    if (cp < 0x80) {
                        out += static_cast<char>(cp);
                    } else if (cp < 0x800) {
                        out += static_cast<char>(0xC0 | (cp >> 6));
                        out += static_cast<char>(0x80 | (cp & 0x3F));
                    } else {
                        out += static_cast<char>(0xE0 | (cp >> 12));
                        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                        out += static_cast<char>(0x80 | (cp & 0x3F));
                    }
                    break;
                }
                default:
                    fail("bad escape");
            }
        }
    }

    std::string_view s_;
    size_t pos_ = 0;
};

Json Json::parse(std::string_view text) { return JsonParser(text).document(); }

namespace {
[[noreturn]] void type_error(const char* want) {
    throw std::runtime_error(std::string("json: value is not ") + want);
}
}  // namespace

bool Json::as_bool() const {
    if (type_ != Type::Bool) {
        type_error("a boolean");
    }
    return bool_;
}

uint64_t Json::as_u64() const {
    uint64_t v = 0;
    if (type_ != Type::Number) {
        type_error("a number");
    }
    const auto r = std::from_chars(text_.data(), text_.data() + text_.size(), v);
    if (r.ec != std::errc() || r.ptr != text_.data() + text_.size()) {
        type_error("a non-negative integer");
    }
    return v;
}

double Json::as_double() const {
    if (type_ != Type::Number) {
        type_error("a number");
    }
    return std::strtod(text_.c_str(), nullptr);
}

const std::string& Json::as_string() const {
    if (type_ != Type::String) {
        type_error("a string");
    }
    return text_;
}

const std::vector<Json>& Json::as_array() const {
    if (type_ != Type::Array) {
        type_error("an array");
    }
    return items_;
}

const Json& Json::operator[](const std::string& key) const {
    if (type_ != Type::Object) {
        type_error("an object");
    }
    auto it = members_.find(key);
    if (it == members_.end()) {
        throw std::runtime_error("json: no member '" + key + "'");
    }
    return it->second;
}

const Json& Json::operator[](size_t index) const {
    const auto& a = as_array();
    if (index >= a.size()) {
        throw std::runtime_error("json: index " + std::to_string(index) + " out of range");
    }
    return a[index];
}

bool Json::contains(const std::string& key) const {
    return type_ == Type::Object && members_.count(key) != 0;
}

size_t Json::size() const {
    if (type_ == Type::Array) {
        return items_.size();
    }
    if (type_ == Type::Object) {
        return members_.size();
    }
    type_error("an array or object");
}

}  // namespace tcpr::test
