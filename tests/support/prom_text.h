// A strict reader of the Prometheus text format 0.0.4 for tests (metrics/exposition.h writes
// it): every line a `# HELP name text`, a `# TYPE name type` or a sample
// `name{label="value",...} value`; every sample of a family with a TYPE line before it; a
// counter family's name ending in _total; a histogram's buckets cumulative up to le="+Inf",
// which equals its _count.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tcpr::test {

struct PromSample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct PromText {
    std::vector<PromSample> samples;
    std::map<std::string, std::string> types;  // family -> type
    std::map<std::string, std::string> help;   // family -> help text (unescaped)
    std::vector<std::string> errors;           // empty when the text is well-formed

    // The value of the sample `name` whose labels include `labels`; NaN when there is none.
    double value(const std::string& name,
                 const std::map<std::string, std::string>& labels = {}) const;
    bool has(const std::string& name) const;
};

PromText parse_prom_text(const std::string& text);

}  // namespace tcpr::test
