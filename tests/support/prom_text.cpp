#include "support/prom_text.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace tcpr::test {
namespace {

bool name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

size_t read_name(const std::string& s, size_t at) {
    size_t i = at;
    while (i < s.size() && name_char(s[i], i == at)) {
        ++i;
    }
    return i;
}

bool parse_value(const std::string& text, double& out) {
    if (text == "+Inf") {
        out = std::numeric_limits<double>::infinity();
        return true;
    }
    if (text == "-Inf") {
        out = -std::numeric_limits<double>::infinity();
        return true;
    }
    if (text == "NaN") {
        out = std::numeric_limits<double>::quiet_NaN();
        return true;
    }
    char* end = nullptr;
    out = std::strtod(text.c_str(), &end);
    return !text.empty() && end == text.c_str() + text.size();
}

std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
    if (types.count(name) > 0) {
        return name;
    }
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string sfx = suffix;
        if (name.size() > sfx.size() &&
            name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
            const std::string base = name.substr(0, name.size() - sfx.size());
            const auto it = types.find(base);
            if (it != types.end() && it->second == "histogram") {
                return base;
            }
        }
    }
    return "";
}

}  // namespace

double PromText::value(const std::string& name,
                       const std::map<std::string, std::string>& labels) const {
    for (const PromSample& s : samples) {
        if (s.name != name) {
            continue;
        }
        bool all = true;
        for (const auto& [k, v] : labels) {
            const auto it = s.labels.find(k);
            all = all && it != s.labels.end() && it->second == v;
        }
        if (all) {
            return s.value;
        }
    }
    return std::numeric_limits<double>::quiet_NaN();
}

bool PromText::has(const std::string& name) const { return !std::isnan(value(name)); }

PromText parse_prom_text(const std::string& text) {
    PromText out;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    const auto error = [&](const std::string& what) {
        out.errors.push_back("line " + std::to_string(number) + ": " + what + ": " + line);
    };
    if (!text.empty() && text.back() != '\n') {
        out.errors.push_back("the text does not end with a newline");
    }
    while (std::getline(in, line)) {
        ++number;
        if (line.empty()) {
            continue;
        }
        if (line[0] == '#') {
            std::istringstream ls(line);
            std::string hash, kind, name;
            ls >> hash >> kind >> name;
            if (kind == "TYPE") {
                std::string type, extra;
                ls >> type >> extra;
                if (type != "counter" && type != "gauge" && type != "histogram" &&
                    type != "summary" && type != "untyped") {
                    error("unknown type");
                } else if (read_name(name, 0) != name.size() || name.empty()) {
                    error("bad family name");
                } else if (out.types.count(name) > 0) {
                    error("second TYPE line");
                } else if (!extra.empty()) {
                    error("text after the type");
                } else {
                    out.types[name] = type;
                    if (type == "counter" &&
                        (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0)) {
                        error("counter not ending in _total");
                    }
                }
            } else if (kind == "HELP") {
                const size_t at = line.find(name) + name.size();
                std::string help = at < line.size() ? line.substr(at + 1) : "";
                std::string plain;
                for (size_t i = 0; i < help.size(); ++i) {
                    if (help[i] == '\\' && i + 1 < help.size()) {
                        plain += help[i + 1] == 'n' ? '\n' : help[i + 1];
                        ++i;
                    } else {
                        plain += help[i];
                    }
                }
                out.help[name] = plain;
            }
            continue;  // other comments are allowed
        }
        PromSample s;
        size_t i = read_name(line, 0);
        if (i == 0) {
            error("no metric name");
            continue;
        }
        s.name = line.substr(0, i);
        bool ok = true;
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (ok && i < line.size() && line[i] != '}') {
                const size_t e = read_name(line, i);
                if (e == i || e + 1 >= line.size() || line[e] != '=' || line[e + 1] != '"') {
                    ok = false;
                    break;
                }
                const std::string label = line.substr(i, e - i);
                std::string value;
                size_t j = e + 2;
                for (; j < line.size() && line[j] != '"'; ++j) {
                    if (line[j] == '\\') {
                        if (j + 1 >= line.size()) {
                            ok = false;
                            break;
                        }
                        const char c = line[++j];
                        if (c == 'n') {
                            value += '\n';
                        } else if (c == '\\' || c == '"') {
                            value += c;
                        } else {
                            ok = false;
                            break;
                        }
                    } else {
                        value += line[j];
                    }
                }
                if (!ok || j >= line.size()) {
                    ok = false;
                    break;
                }
                if (s.labels.count(label) > 0) {
                    ok = false;
                    break;
                }
                s.labels[label] = value;
                i = j + 1;
                if (i < line.size() && line[i] == ',') {
                    ++i;
                }
            }
            if (!ok || i >= line.size()) {
                error("bad labels");
                continue;
            }
            ++i;  // '}'
        }
        if (i >= line.size() || line[i] != ' ') {
            error("no space before the value");
            continue;
        }
        std::istringstream vs(line.substr(i + 1));
        std::string value, timestamp, extra;
        vs >> value >> timestamp >> extra;
        if (!parse_value(value, s.value) || !extra.empty()) {
            error("bad value");
            continue;
        }
        const std::string family = family_of(s.name, out.types);
        if (family.empty()) {
            error("sample without a TYPE line");
            continue;
        }
        out.samples.push_back(std::move(s));
    }
    // Histograms: buckets cumulative, +Inf present and equal to _count (per label set).
    for (const auto& [family, type] : out.types) {
        if (type != "histogram") {
            continue;
        }
        std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>>
            buckets;
        std::map<std::map<std::string, std::string>, double> counts;
        for (const PromSample& s : out.samples) {
            if (s.name == family + "_bucket") {
                auto labels = s.labels;
                double le = 0;
                if (labels.count("le") == 0 || !parse_value(labels["le"], le)) {
                    out.errors.push_back(family + ": bucket without a valid le");
                    continue;
                }
                labels.erase("le");
                buckets[labels].emplace_back(le, s.value);
            } else if (s.name == family + "_count") {
                counts[s.labels] = s.value;
            }
        }
        for (const auto& [labels, list] : buckets) {
            for (size_t k = 1; k < list.size(); ++k) {
                if (!(list[k].first > list[k - 1].first) || list[k].second < list[k - 1].second) {
                    out.errors.push_back(family + ": buckets not increasing and cumulative");
                }
            }
            if (list.empty() || !std::isinf(list.back().first)) {
                out.errors.push_back(family + ": no le=\"+Inf\" bucket last");
            } else if (counts.count(labels) == 0 || counts[labels] != list.back().second) {
                out.errors.push_back(family + ": +Inf bucket differs from _count");
            }
        }
    }
    return out;
}

}  // namespace tcpr::test
