#include "replayer/report/latency_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "replayer/report/html_text.h"

namespace tcpr::replay {
namespace {

constexpr double kWidth = 480, kHeight = 240;
constexpr double kLeft = 44, kRight = 24, kTop = 40, kBottom = 34;
constexpr const char* kRecordedColour = "#1f77b4";
constexpr const char* kReplayedColour = "#e8710a";

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

// The time axis: whole decades of microseconds, from `lo` to `hi` (10^lo .. 10^hi us).
struct Axis {
    int lo = 0, hi = 1;

    double x(uint64_t us) const {
        const double v = std::log10(std::max(1.0, static_cast<double>(us)));
        const double f = (std::clamp(v, double(lo), double(hi)) - lo) / (hi - lo);
        return kLeft + f * (kWidth - kLeft - kRight);
    }
    static double y(double share) { return kTop + (1.0 - share) * (kHeight - kTop - kBottom); }
};

Axis axis_for(const LogHistogram& a, const LogHistogram& b) {
    uint64_t lo = std::numeric_limits<uint64_t>::max(), hi = 1;
    for (const LogHistogram* h : {&a, &b}) {
        if (h->count() > 0) {
            lo = std::min(lo, std::max<uint64_t>(h->min(), 1));
            hi = std::max(hi, h->max());
        }
    }
    Axis axis;
    if (lo == std::numeric_limits<uint64_t>::max()) {
        return axis;
    }
    // A tenth of a decade of room on both sides, so no curve runs along the frame.
    axis.lo = std::max(0, static_cast<int>(std::floor(std::log10(static_cast<double>(lo)) - 0.1)));
    axis.hi = static_cast<int>(std::ceil(std::log10(static_cast<double>(hi) + 1) + 0.1));
    axis.hi = std::max(axis.hi, axis.lo + 1);
    return axis;
}

// "1 us", "10 us", "100 us", "1 ms", ... "1 s", "10 s", "100 s", "1000 s".
std::string decade_label(int k) {
    static const char* const kDigits[] = {"1", "10", "100"};
    if (k >= 6) {
        return std::to_string(static_cast<uint64_t>(std::pow(10.0, k - 6))) + " s";
    }
    return std::string(kDigits[k % 3]) + (k < 3 ? " us" : " ms");
}

// The cumulative curve: each bucket rises linearly from its floor to the next bucket's floor,
// both kept within [min, max] as the histogram's percentiles are.
std::string curve(const LogHistogram& h, const Axis& axis, const char* cls, const char* colour) {
    if (h.count() == 0) {
        return {};
    }
    const double total = static_cast<double>(h.count());
    std::string pts;
    uint64_t seen = 0;
    for (const auto& [b, n] : h.buckets()) {
        const uint64_t from = std::clamp(LogHistogram::bucket_floor(b), h.min(), h.max());
        const uint64_t to = std::clamp(LogHistogram::bucket_floor(b + 1), h.min(), h.max());
        pts += num(axis.x(from)) + "," + num(Axis::y(seen / total)) + " ";
        seen += n;
        pts += num(axis.x(to)) + "," + num(Axis::y(seen / total)) + " ";
    }
    pts.pop_back();
    return std::string("<polyline class=\"") + cls + "\" fill=\"none\" stroke=\"" + colour +
           "\" stroke-width=\"2\" points=\"" + pts + "\"/>";
}

std::string legend_line(double y, const char* colour, const char* what, const LogHistogram& h) {
    std::string text = std::string(what) + ": ";
    text += h.count() == 0
                ? std::string("no latency measured")
                : std::to_string(h.count()) + " answers, p50 " + latency_label(h.percentile(0.5)) +
                      ", p99 " + latency_label(h.percentile(0.99));
    return "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(y - 4) + "\" x2=\"" + num(kLeft + 18) +
           "\" y2=\"" + num(y - 4) + "\" stroke=\"" + colour +
           "\" stroke-width=\"3\"/><text class=\"legend\" x=\"" + num(kLeft + 24) + "\" y=\"" +
           num(y) + "\">" + html_escape(text) + "</text>";
}

// Gridlines and labels: decades on the time axis, 0/50/90/100% on the share axis.
std::string grid(const Axis& axis) {
    std::string o;
    const double bottom = Axis::y(0), top = Axis::y(1);
    for (int k = axis.lo; k <= axis.hi; ++k) {
        const double x = axis.x(static_cast<uint64_t>(std::pow(10.0, k)));
        o += "<line class=\"grid\" x1=\"" + num(x) + "\" y1=\"" + num(top) + "\" x2=\"" + num(x) +
             "\" y2=\"" + num(bottom) + "\"/><text class=\"tick\" x=\"" + num(x) + "\" y=\"" +
             num(bottom + 14) + "\" text-anchor=\"middle\">" + decade_label(k) + "</text>";
    }
    for (const double share : {0.0, 0.5, 0.9, 1.0}) {
        const double y = Axis::y(share);
        o += "<line class=\"grid\" x1=\"" + num(kLeft) + "\" y1=\"" + num(y) + "\" x2=\"" +
             num(kWidth - kRight) + "\" y2=\"" + num(y) + "\"/><text class=\"tick\" x=\"" +
             num(kLeft - 4) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
             std::to_string(static_cast<int>(share * 100)) + "%</text>";
    }
    o += "<text class=\"tick\" x=\"" + num((kLeft + kWidth - kRight) / 2) + "\" y=\"" +
         num(kHeight - 4) +
         "\" text-anchor=\"middle\">latency to the first byte (log scale); curve: share of "
         "answers at or below</text>";
    return o;
}

}  // namespace

std::string latency_plot_svg(const std::string& label, const LogHistogram& recorded,
                             const LogHistogram& replayed) {
    const Axis axis = axis_for(recorded, replayed);
    const std::string name = html_escape(label);
    std::string o = "<svg class=\"latency-plot\" data-endpoint=\"" + name + "\" viewBox=\"0 0 " +
                    num(kWidth) + " " + num(kHeight) + "\" width=\"" + num(kWidth) +
                    "\" height=\"" + num(kHeight) + "\" role=\"img\"><title>Latency of " + name +
                    ", recorded and replayed</title>";
    o += grid(axis);
    o += legend_line(14, kRecordedColour, "recorded", recorded);
    o += legend_line(30, kReplayedColour, "replayed", replayed);
    o += curve(recorded, axis, "recorded", kRecordedColour);
    o += curve(replayed, axis, "replayed", kReplayedColour);
    return o + "</svg>";
}

}  // namespace tcpr::replay
