#include "common/metrics/exposition.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace tcpr::metrics {
namespace {

bool name_char(char c, bool first, bool colon) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    return alpha || (colon && c == ':') || (!first && digit);
}

bool valid_name(std::string_view name, bool colon) {
    if (name.empty()) {
        return false;
    }
    for (size_t i = 0; i < name.size(); ++i) {
        if (!name_char(name[i], i == 0, colon)) {
            return false;
        }
    }
    return true;
}

const char* type_name(TextWriter::Type t) {
    switch (t) {
        case TextWriter::Type::Counter:
            return "counter";
        case TextWriter::Type::Gauge:
            return "gauge";
        case TextWriter::Type::Histogram:
            return "histogram";
    }
    return "untyped";
}

}  // namespace

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }

bool valid_label_name(std::string_view name) {
    return valid_name(name, false) && name.substr(0, 2) != "__";
}

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string escape_help(std::string_view help) {
    std::string out;
    out.reserve(help.size());
    for (const char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    // The shortest of %.15g .. %.17g that reads back as v.
    char buf[40];
    for (int precision = 15; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v) {
            break;
        }
    }
    return buf;
}

void TextWriter::family(std::string_view name, Type type, std::string_view help) {
    if (!valid_metric_name(name)) {
        throw std::logic_error("bad metric name '" + std::string(name) + "'");
    }
    if (std::find(families_.begin(), families_.end(), name) != families_.end()) {
        throw std::logic_error("metric family '" + std::string(name) + "' written twice");
    }
    families_.emplace_back(name);
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += escape_help(help);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type_name(type);
    out_ += '\n';
}

void TextWriter::line(std::string_view name, const Labels& labels, std::string_view value,
                      const std::pair<std::string, std::string>* extra) {
    if (!valid_metric_name(name)) {
        throw std::logic_error("bad metric name '" + std::string(name) + "'");
    }
    out_ += name;
    if (!labels.empty() || extra != nullptr) {
        out_ += '{';
        bool first = true;
        const auto add = [&](const std::pair<std::string, std::string>& l) {
            if (!valid_label_name(l.first)) {
                throw std::logic_error("bad label name '" + l.first + "'");
            }
            if (!first) {
                out_ += ',';
            }
            first = false;
            out_ += l.first;
            out_ += "=\"";
            out_ += escape_label_value(l.second);
            out_ += '"';
        };
        for (const auto& l : labels) {
            add(l);
        }
        if (extra != nullptr) {
            add(*extra);
        }
        out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
}

void TextWriter::sample(std::string_view name, const Labels& labels, double value) {
    line(name, labels, format_value(value));
}

void TextWriter::sample(std::string_view name, const Labels& labels, uint64_t value) {
    line(name, labels, std::to_string(value));
}

void TextWriter::counter(std::string_view name, std::string_view help, uint64_t value) {
    family(name, Type::Counter, help);
    sample(name, {}, value);
}

void TextWriter::gauge(std::string_view name, std::string_view help, double value) {
    family(name, Type::Gauge, help);
    sample(name, {}, value);
}

void TextWriter::histogram(std::string_view name, const Labels& labels,
                           std::span<const Bucket> buckets, double sum, uint64_t count) {
    const std::string base(name);
    const std::string bucket_name = base + "_bucket";
    uint64_t cumulative = 0;
    for (const Bucket& b : buckets) {
        cumulative += b.count;
        const std::pair<std::string, std::string> le{"le", format_value(b.upper_bound)};
        line(bucket_name, labels, std::to_string(cumulative), &le);
    }
    const std::pair<std::string, std::string> inf{"le", "+Inf"};
    line(bucket_name, labels, std::to_string(std::max(count, cumulative)), &inf);
    line(base + "_sum", labels, format_value(sum));
    line(base + "_count", labels, std::to_string(std::max(count, cumulative)));
}

}  // namespace tcpr::metrics
