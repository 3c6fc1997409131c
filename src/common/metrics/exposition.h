// The Prometheus text exposition format, version 0.0.4 (docs/replay.md, "Metrics"): families
// of samples, each family introduced by its `# HELP` and `# TYPE` lines, one sample a line as
// `name{label="value",...} value`. Pure text building (no OS): the programs fill a writer from
// their counters when a scrape arrives (os/metrics_server.h serves the text).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tcpr::metrics {

// The Content-Type of the format.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::vector<std::pair<std::string, std::string>>;

// One histogram bucket: the count of values <= upper_bound that are above the previous
// bucket's bound (not cumulative: the writer accumulates).
struct Bucket {
    double upper_bound = 0;
    uint64_t count = 0;
};

// A metric or label name as the format allows it: [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no ':').
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
// A label value with '\\', '"' and newline escaped; HELP text with '\\' and newline escaped.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value: integers exactly, others shortest round-trip, "+Inf", "-Inf", "NaN".
std::string format_value(double v);

class TextWriter {
  public:
    enum class Type { Counter, Gauge, Histogram };

    // Starts a family: its HELP and TYPE lines. Every sample written after it until the next
    // family belongs to it. Names are checked (a bad name is a programming error: throws
    // std::logic_error), a family written twice too.
    void family(std::string_view name, Type type, std::string_view help);

    // One sample of the current family (for a histogram family, use histogram()).
    void sample(std::string_view name, const Labels& labels, double value);
    void sample(std::string_view name, const Labels& labels, uint64_t value);

    // Shorthands: a family of one unlabelled sample.
    void counter(std::string_view name, std::string_view help, uint64_t value);
    void gauge(std::string_view name, std::string_view help, double value);

    // The samples of one histogram of the current family (`name` without suffix):
    // name_bucket{...,le="bound"} cumulative, the last le="+Inf" equal to `count`, name_sum,
    // name_count. `buckets` in increasing bound order; `count` at least their total (values
    // above the last bound land in +Inf only).
    void histogram(std::string_view name, const Labels& labels, std::span<const Bucket> buckets,
                   double sum, uint64_t count);

    const std::string& text() const { return out_; }
    std::string take() { return std::move(out_); }

  private:
    void line(std::string_view name, const Labels& labels, std::string_view value,
              const std::pair<std::string, std::string>* extra = nullptr);

    std::string out_;
    std::vector<std::string> families_;
};

}  // namespace tcpr::metrics
