#include "replayer/sessions/noise_rules.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "common/base/error.h"

namespace tcpr::replay {
namespace {

using Json = nlohmann::json;

// One JSON path step (the syntax is in the header).
struct Step {
    enum class Kind : uint8_t { Member, Index, All, Descendant };
    Kind kind;
    std::string name;  // Member, Descendant
    size_t index = 0;  // Index
};
using JsonPath = std::vector<Step>;

[[noreturn]] void bad_path(std::string_view path, const std::string& why) {
    throw Error(ErrorKind::Usage,
                "--ignore-json: bad JSON path '" + std::string(path) + "': " + why);
}

JsonPath parse_path(std::string_view p) {
    if (p.empty() || p[0] != '$') {
        bad_path(p, "it must start with '$'");
    }
    JsonPath steps;
    bool descendant = false;
    size_t i = 1;
    while (i < p.size()) {
        if (p[i] == '.') {
            const bool desc = i + 1 < p.size() && p[i + 1] == '.';
            i += desc ? 2 : 1;
            if (i < p.size() && p[i] == '*' && !desc) {
                steps.push_back({Step::Kind::All, {}, 0});
                ++i;
                continue;
            }
            size_t e = i;
            while (e < p.size() && p[e] != '.' && p[e] != '[') {
                ++e;
            }
            if (e == i || p.substr(i, e - i) == "*") {
                bad_path(p, desc ? "'..' must be followed by a member name"
                                 : "empty member name at offset " + std::to_string(i));
            }
            if (desc && descendant) {
                bad_path(p, "only one '..' per path");  // keeps removal linear in the body
            }
            descendant = descendant || desc;
            steps.push_back({desc ? Step::Kind::Descendant : Step::Kind::Member,
                             std::string(p.substr(i, e - i)), 0});
            i = e;
        } else if (p[i] == '[') {
            if (i + 1 < p.size() && (p[i + 1] == '\'' || p[i + 1] == '"')) {
                const size_t end = p.find(p[i + 1], i + 2);
                if (end == std::string_view::npos) {
                    bad_path(p, "unterminated quote at offset " + std::to_string(i + 1));
                }
                if (end + 1 >= p.size() || p[end + 1] != ']') {
                    bad_path(p, "expected ']' at offset " + std::to_string(end + 1));
                }
                steps.push_back({Step::Kind::Member, std::string(p.substr(i + 2, end - i - 2)), 0});
                i = end + 2;
                continue;
            }
            const size_t close = p.find(']', i);
            if (close == std::string_view::npos) {
                bad_path(p, "missing ']' after offset " + std::to_string(i));
            }
            const std::string_view inner = p.substr(i + 1, close - i - 1);
            if (inner == "*") {
                steps.push_back({Step::Kind::All, {}, 0});
            } else if (!inner.empty() && inner.size() <= 9 &&
                       std::all_of(inner.begin(), inner.end(),
                                   [](char c) { return c >= '0' && c <= '9'; })) {
                steps.push_back({Step::Kind::Index, {}, std::stoul(std::string(inner))});
            } else {
                bad_path(p, "bad index '" + std::string(inner) + "'");
            }
            i = close + 1;
        } else {
            bad_path(p, "expected '.' or '[' at offset " + std::to_string(i));
        }
    }
    if (steps.empty()) {
        bad_path(p, "it names the whole body");
    }
    return steps;
}

// Removes what `steps[k...]` name below `node`. Recursion is bounded by the JSON's depth
// (kMaxJsonDepth); with at most one Descendant step every node is visited O(steps) times.
void remove_path(Json& node, const JsonPath& steps, size_t k) {
    const Step& s = steps[k];
    const bool last = k + 1 == steps.size();
    const auto member = [&] {
        if (!node.is_object()) {
            return;
        }
        const auto it = node.find(s.name);
        if (it == node.end()) {
            return;
        }
        if (last) {
            node.erase(it);
        } else {
            remove_path(*it, steps, k + 1);
        }
    };
    switch (s.kind) {
        case Step::Kind::Member:
            member();
            break;
        case Step::Kind::Index:
            if (node.is_array() && s.index < node.size()) {
                if (last) {
                    node.erase(s.index);
                } else {
                    remove_path(node[s.index], steps, k + 1);
                }
            }
            break;
        case Step::Kind::All:
            if (node.is_object() || node.is_array()) {
                if (last) {
                    node.clear();  // {} or []
                } else {
                    for (Json& child : node) {
                        remove_path(child, steps, k + 1);
                    }
                }
            }
            break;
        case Step::Kind::Descendant:
            member();
            if (node.is_object() || node.is_array()) {
                for (Json& child : node) {
                    remove_path(child, steps, k);
                }
            }
            break;
    }
}

// Whether `s` nests no deeper than kMaxJsonDepth (a cheap scan before parsing: a deeper body
// is not treated as JSON, so nothing recurses deeply over user input).
bool json_depth_ok(std::string_view s) {
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : s) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxJsonDepth) {
                return false;
            }
        } else if ((c == ']' || c == '}') && --depth < 0) {
            return false;  // not JSON anyway
        }
    }
    return true;
}

std::string header_name(const std::string& given, const char* option) {
    const size_t from = given.find_first_not_of(" \t");
    const size_t to = given.find_last_not_of(" \t");
    std::string name =
        from == std::string::npos ? std::string() : given.substr(from, to - from + 1);
    for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    const bool bad = name.empty() || std::any_of(name.begin(), name.end(), [](char c) {
                         return c == ':' || std::isspace(static_cast<unsigned char>(c)) ||
                                std::iscntrl(static_cast<unsigned char>(c));
                     });
    if (bad) {
        throw Error(ErrorKind::Usage, std::string(option) + ": bad header name '" + given + "'");
    }
    return name;
}

}  // namespace

// --- CompiledNoiseRules ------------------------------------------------------------------

struct CompiledNoiseRules::BodyRules {
    std::vector<std::unique_ptr<re2::RE2>> regexes;
    std::vector<JsonPath> paths;
};

CompiledNoiseRules::CompiledNoiseRules()
    : ignored_(std::begin(kDefaultIgnoredHeaders), std::end(kDefaultIgnoredHeaders)) {
    std::sort(ignored_.begin(), ignored_.end());
}

CompiledNoiseRules CompiledNoiseRules::compile(const NoiseRules& rules) {
    CompiledNoiseRules c;
    for (const std::string& n : rules.ignore_headers) {
        c.ignored_.push_back(header_name(n, "--ignore-header"));
    }
    std::vector<std::string> compared;
    for (const std::string& n : rules.compare_headers) {
        compared.push_back(header_name(n, "--compare-header"));
    }
    std::sort(c.ignored_.begin(), c.ignored_.end());
    c.ignored_.erase(std::unique(c.ignored_.begin(), c.ignored_.end()), c.ignored_.end());
    std::erase_if(c.ignored_, [&](const std::string& n) {
        return std::find(compared.begin(), compared.end(), n) != compared.end();
    });

    if (rules.ignore_body.empty() && rules.ignore_json.empty()) {
        return c;
    }
    auto body = std::make_shared<BodyRules>();
    RE2::Options options;
    options.set_log_errors(false);  // the error goes into our one line instead
    for (const std::string& pattern : rules.ignore_body) {
        auto re = std::make_unique<re2::RE2>(pattern, options);
        if (!re->ok()) {
            throw Error(ErrorKind::Usage, "--ignore: bad regex '" + pattern + "': " + re->error());
        }
        body->regexes.push_back(std::move(re));
    }
    for (const std::string& path : rules.ignore_json) {
        body->paths.push_back(parse_path(path));
    }
    c.body_ = std::move(body);
    return c;
}

const CompiledNoiseRules& CompiledNoiseRules::defaults() {
    static const CompiledNoiseRules rules;
    return rules;
}

bool CompiledNoiseRules::ignores_header(std::string_view lower_name) const {
    const auto it = std::lower_bound(
        ignored_.begin(), ignored_.end(), lower_name,
        [](const std::string& a, std::string_view b) { return std::string_view(a) < b; });
    return it != ignored_.end() && *it == lower_name;
}

CompiledNoiseRules::Normalized CompiledNoiseRules::normalize_body(std::string_view body,
                                                                  bool json) const {
    Normalized out;
    if (json && !body.empty() && body_ != nullptr) {
        if (json_depth_ok(body)) {
            // The non-throwing parse: a body that is not JSON gives a discarded value.
            Json j = Json::parse(body.begin(), body.end(), nullptr, false);
            if (!j.is_discarded()) {
                for (const JsonPath& path : body_->paths) {
                    remove_path(j, path, 0);
                }
                // std::map objects: keys sorted; no whitespace. Replace bad UTF-8, never throw.
                out.text = j.dump(-1, ' ', false, Json::error_handler_t::replace);
                out.json = true;
            }
        }
        out.json_failed = !out.json;
    }
    if (!out.json) {
        out.text.assign(body);
    }
    if (body_ != nullptr) {
        for (const auto& re : body_->regexes) {
            // RE2 steps past an empty match, so a pattern matching "" ends too.
            RE2::GlobalReplace(&out.text, *re, "");
        }
    }
    return out;
}

}  // namespace tcpr::replay
