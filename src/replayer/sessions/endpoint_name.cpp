#include "replayer/sessions/endpoint_name.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace tcpr::replay {
namespace {

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

bool all_of(std::string_view s, bool (*pred)(char)) {
    return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 8-4-4-4-12 hex digits.
bool is_uuid(std::string_view s) {
    if (s.size() != 36) {
        return false;
    }
    for (size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i])) {
            return false;
        }
    }
    return true;
}

std::string collapse_segment(std::string_view seg) {
    if (all_of(seg, is_digit)) {
        return "{n}";
    }
    if (is_uuid(seg)) {
        return "{uuid}";
    }
    if (seg.size() >= 16 && all_of(seg, is_hex)) {
        return "{hex}";
    }
    return std::string(seg);
}

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u >= 0x20 && u < 0x7f ? c : '.');
    }
    return out;
}

// "GET /a/1?x HTTP/1.1" -> "GET /a/{n}"; empty if not an HTTP/1.x request line.
std::string http_name(std::string_view text) {
    const size_t sp1 = text.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0 || sp1 > 16) {
        return {};
    }
    const std::string_view method = text.substr(0, sp1);
    if (!std::all_of(method.begin(), method.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || c == '-'; })) {
        return {};
    }
    const size_t sp2 = text.find(' ', sp1 + 1);
    const size_t eol = text.find('\r', sp1 + 1);
    if (sp2 == std::string_view::npos || (eol != std::string_view::npos && eol < sp2) ||
        text.substr(sp2 + 1, 5) != "HTTP/") {
        return {};
    }
    std::string_view target = text.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find_first_of("?#"));
    if (const size_t scheme = target.find("://"); scheme != std::string_view::npos) {
        const size_t path = target.find('/', scheme + 3);  // absolute form: drop the host
        target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
    }
    std::string name(method);
    name += ' ';
    size_t pos = 0;
    while (pos <= target.size()) {
        const size_t slash = target.find('/', pos);
        const size_t end = slash == std::string_view::npos ? target.size() : slash;
        name += collapse_segment(target.substr(pos, end - pos));
        if (slash == std::string_view::npos) {
            break;
        }
        name += '/';
        pos = slash + 1;
    }
    return printable(name);
}

// "*2\r\n$3\r\nGET\r\n..." -> "redis GET"; empty if not a RESP command.
std::string resp_name(std::string_view text) {
    if (text.size() < 8 || text[0] != '*') {
        return {};
    }
    const size_t eol = text.find("\r\n");
    if (eol == std::string_view::npos || eol + 2 >= text.size() || text[eol + 2] != '$') {
        return {};
    }
    const size_t eol2 = text.find("\r\n", eol + 2);
    if (eol2 == std::string_view::npos) {
        return {};
    }
    size_t len = 0;
    for (size_t i = eol + 3; i < eol2; ++i) {
        if (!is_digit(text[i]) || len > 64) {
            return {};
        }
        len = len * 10 + static_cast<size_t>(text[i] - '0');
    }
    const std::string_view cmd = text.substr(eol2 + 2, len);
    if (cmd.empty() || cmd.size() != len) {
        return {};
    }
    std::string name = "redis ";
    for (char c : cmd) {
        name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    return printable(name);
}

}  // namespace

EndpointName endpoint_name(std::span<const uint8_t> request, const EndpointRules& rules) {
    const std::string_view text(reinterpret_cast<const char*>(request.data()),
                                std::min(request.size(), kEndpointScanBytes));
    if (std::string name = http_name(text); !name.empty()) {
        return {std::move(name), true};
    }
    if (std::string name = resp_name(text); !name.empty()) {
        return {std::move(name), true};
    }
    if (text.empty()) {
        return {"(no request: the server spoke first)", false};
    }
    return {printable(text.substr(0, rules.prefix_bytes)), false};
}

std::string continued_name(const std::string& name) {
    static constexpr std::string_view kSuffix = " (continued)";
    const bool already = name.size() >= kSuffix.size() &&
                         name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
    return already ? name : name + std::string(kSuffix);
}

}  // namespace tcpr::replay
