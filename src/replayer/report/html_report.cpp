#include "replayer/report/html_report.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>
#include <vector>

#include "common/base/stats.h"
#include "replayer/report/html_assets.h"
#include "replayer/report/html_text.h"
#include "replayer/report/latency_plot.h"

namespace tcpr::replay {
namespace {

std::string num(uint64_t v) { return std::to_string(v); }

std::string fixed(double v, int decimals) { return fixed_text(v, decimals); }

// A fresh value for the Content-Security-Policy's script nonce: only the page's own script
// runs, even if escaping ever failed and a recorded "<script>" became markup.
std::string make_nonce() {
    std::random_device rd;
    std::string out;
    for (int i = 0; i < 4; ++i) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
        out += buf;
    }
    return out;
}

std::string page_head(const RunSummary& s, const std::string& nonce) {
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'; script-src 'nonce-" +
           nonce +
           "'\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>tcpreplay2 report: " +
           html_escape(s.input) + " into " + html_escape(s.target) + "</title>\n<style>" +
           kReportStyle + "</style>\n</head>\n";
}

std::string card(const std::string& id, const std::string& label, const std::string& value,
                 const std::string& detail, const char* cls = "") {
    return "<div class=\"card " + std::string(cls) + "\" id=\"" + id + "\">" + html_escape(label) +
           "<b>" + html_escape(value) + "</b>" + html_escape(detail) + "</div>\n";
}

// The headline numbers, then the text summary as stdout has it.
std::string overview(const RunSummary& s, const std::string& source_lines) {
    const ReplayCounters& c = s.counters;
    uint64_t bodies = 0, bodies_differ = 0, noise = 0;
    for (const EndpointStats& e : c.endpoints.all()) {
        bodies += e.body_compared;
        bodies_differ += e.body_mismatch;
        noise += e.body_noise;
    }
    const bool failed = failed_beyond(s);
    std::string o = "<h1>tcpreplay2: " + html_escape(s.input) + " replayed into " +
                    html_escape(s.target) +
                    "</h1>\n<section id=\"overview\">\n<div class=\"cards\">\n";
    o += card(
        "sessions", "Sessions started", num(c.sessions_started),
        "of " + num(c.sessions_planned) + " planned, " + num(c.sessions_completed) + " completed");
    o += card("failed", "Failed sessions", fixed(failed_percent(c), 2) + "%",
              "threshold " + fixed(s.max_failed_percent, 2) + "%: " + (failed ? "FAILED" : "ok"),
              failed ? "bad" : "ok");
    o += card("requests", "Requests sent", num(c.requests_sent),
              num(c.responses_seen) + " answered");
    o += card("status-mismatches", "Status lines differ", num(c.status_mismatch),
              "of " + num(c.status_match + c.status_mismatch) + " compared",
              c.status_mismatch > 0 ? "bad" : "ok");
    o += card("body-mismatches", "Bodies differ", num(bodies_differ),
              "of " + num(bodies) + " compared; " + num(noise) + " set aside as noise",
              bodies_differ > 0 ? "bad" : "ok");
    o += card("endpoint-count", "Endpoints", num(c.endpoints.all().size()), "");
    o += "</div>\n<details open><summary>Summary</summary><pre id=\"summary\">" +
         html_escape(format_summary(s) + source_lines) + "</pre></details>\n</section>\n";
    return o;
}

struct Column {
    const char* key;
    const char* label;
    bool numeric;
};

constexpr std::array<Column, 17> kColumns{{
    {"rank", "#", true},
    {"name", "Endpoint", false},
    {"requests", "Answers", true},
    {"status_mismatch", "Status differs", true},
    {"body_mismatch", "Bodies differ", true},
    {"body_compared", "Bodies compared", true},
    {"body_noise", "Noise", true},
    {"p50_recorded", "p50 rec", true},
    {"p50_replayed", "p50 rep", true},
    {"p90_recorded", "p90 rec", true},
    {"p90_replayed", "p90 rep", true},
    {"p99_recorded", "p99 rec", true},
    {"p99_replayed", "p99 rep", true},
    {"max_recorded", "max rec", true},
    {"max_replayed", "max rep", true},
    {"p50_change", "p50 change", true},
    {"p99_change", "p99 change", true},
}};

std::string count_cell(uint64_t v, bool bad = false) {
    return std::string("<td class=\"num") + (bad && v > 0 ? " bad" : "") + "\" data-v=\"" + num(v) +
           "\">" + num(v) + "</td>";
}

std::string latency_cell(const LogHistogram& h, double q) {
    if (h.count() == 0) {
        return "<td class=\"num\">?</td>";
    }
    const uint64_t us = q >= 1.0 ? h.max() : h.percentile(q);
    return "<td class=\"num\" data-v=\"" + num(us) + "\">" + latency_label(us) + "</td>";
}

std::string change_cell(double change) {
    if (change <= 0) {
        return "<td class=\"num\">?</td>";
    }
    const char* cls = change > 1.25 ? " slower" : (change < 0.8 ? " faster" : "");
    return std::string("<td class=\"num") + cls + "\" data-v=\"" + fixed(change, 3) + "\">&times;" +
           fixed(change, 2) + "</td>";
}

// Replayed p99 over recorded p99, as EndpointStats::p50_change; 0 when either is unknown.
double p99_change(const LogHistogram& recorded, const LogHistogram& replayed) {
    if (recorded.count() == 0 || replayed.count() == 0) {
        return 0;
    }
    return static_cast<double>(std::max<uint64_t>(replayed.percentile(0.99), 1)) /
           static_cast<double>(std::max<uint64_t>(recorded.percentile(0.99), 1));
}

std::string endpoint_row(const EndpointStats& e, size_t rank) {
    const std::string name = html_escape(e.name);
    std::string o = "<tr class=\"endpoint\" data-name=\"" + name + "\" data-rank=\"" + num(rank) +
                    "\" data-requests=\"" + num(e.requests) + "\">";
    o += count_cell(rank) + "<td class=\"name\">" + name + "</td>" + count_cell(e.requests);
    o += count_cell(e.status_mismatch, true) + count_cell(e.body_mismatch, true) +
         count_cell(e.body_compared) + count_cell(e.body_noise);
    for (const double q : {0.5, 0.9, 0.99, 1.0}) {
        o += latency_cell(e.recorded_first_us, q) + latency_cell(e.replayed_first_us, q);
    }
    return o + change_cell(e.p50_change()) +
           change_cell(p99_change(e.recorded_first_us, e.replayed_first_us)) + "</tr>\n";
}

std::string endpoint_table(const EndpointTable& t) {
    std::string o = "<section id=\"endpoint-section\">\n<h2>Endpoints</h2>\n";
    if (t.empty()) {
        return o +
               "<p class=\"note\">No endpoint was compared (--no-compare, or nothing "
               "answered).</p>\n</section>\n";
    }
    o += "<p>Worst first (status and body mismatches, then the change of the p50 latency); "
         "click a header to sort. Latency: from the request's last byte to the answer's first "
         "byte, recorded (rec) and replayed (rep). <label>Filter: <input id=\"filter\" "
         "type=\"search\"></label></p>\n<table id=\"endpoints\">\n<thead><tr>";
    for (const Column& col : kColumns) {
        o += std::string("<th data-key=\"") + col.key + "\" data-type=\"" +
             (col.numeric ? "num" : "text") + "\">" + col.label + "</th>";
    }
    o += "</tr></thead>\n<tbody>\n";
    const auto ranked = t.ranked();
    for (size_t i = 0; i < ranked.size() && i < kHtmlMaxEndpointRows; ++i) {
        o += endpoint_row(*ranked[i], i + 1);
    }
    o += "</tbody>\n</table>\n";
    if (ranked.size() > kHtmlMaxEndpointRows) {
        o += "<p class=\"note\" id=\"endpoints-cut\">The " + num(kHtmlMaxEndpointRows) +
             " worst of " + num(ranked.size()) +
             " endpoints are shown; --report json has all of them.</p>\n";
    }
    return o + "</section>\n";
}

std::string figure(const std::string& caption, const EndpointStats& e) {
    return "<figure>\n<figcaption>" + html_escape(caption) + "</figcaption>\n" +
           latency_plot_svg(e.name, e.recorded_first_us, e.replayed_first_us) + "\n</figure>\n";
}

std::string latency_section(const EndpointTable& t) {
    if (t.empty()) {
        return {};
    }
    EndpointStats all;
    for (const EndpointStats& e : t.all()) {
        all.merge(e);
    }
    all.name = "(all endpoints)";
    std::string o =
        "<section id=\"latency\">\n<h2>Latency, recorded vs replayed</h2>\n"
        "<div class=\"plots\">\n" +
        figure("All endpoints", all);
    const auto ranked = t.ranked();
    for (size_t i = 0; i < ranked.size() && i < kHtmlMaxPlots; ++i) {
        o += figure(num(i + 1) + ". " + ranked[i]->name, *ranked[i]);
    }
    o += "</div>\n";
    if (ranked.size() > kHtmlMaxPlots) {
        o += "<p class=\"note\" id=\"plots-cut\">Plotted: the " + num(kHtmlMaxPlots) +
             " worst of " + num(ranked.size()) + " endpoints.</p>\n";
    }
    return o + "</section>\n";
}

std::string example_html(const DifferenceExample& d) {
    std::string o = "<div class=\"example\" data-kind=\"" + html_escape(d.kind) +
                    "\" data-endpoint=\"" + html_escape(d.endpoint) + "\">\n<p>";
    if (!d.endpoint.empty()) {
        o += "<b>" + html_escape(d.endpoint) + "</b>: ";
    }
    o += "session " + num(d.session) + ", request " + num(d.request + 1) + ", replayed from " +
         html_escape(d.client) + "</p>\n";
    if (!d.request_head.empty()) {
        o += "<pre class=\"request\">" +
             html_escape(cut_text(d.request_head, kHtmlMaxExampleBytes)) + "</pre>\n";
    }
    o += "<div class=\"sides\"><div><h4>Recorded</h4><pre class=\"recorded\">" +
         html_escape(cut_text(d.recorded, kHtmlMaxExampleBytes)) +
         "</pre></div><div><h4>Replayed</h4><pre class=\"replayed\">" +
         html_escape(cut_text(d.replayed, kHtmlMaxExampleBytes)) + "</pre></div></div>\n</div>\n";
    return o;
}

std::string kind_title(const std::string& kind) {
    if (kind == "status") {
        return "Status line differs";
    }
    if (kind == "headers") {
        return "Headers differ";
    }
    if (kind == "body") {
        return "Body differs";
    }
    return "Difference: " + kind;
}

// The examples of one kind ("" when there is none), at most kHtmlExamplesPerKind.
std::string kind_section(const std::string& kind, const std::vector<DifferenceExample>& examples) {
    size_t total = 0;
    std::string items;
    for (const DifferenceExample& d : examples) {
        if (d.kind == kind && ++total <= kHtmlExamplesPerKind) {
            items += example_html(d);
        }
    }
    if (total == 0) {
        return {};
    }
    std::string o = "<section class=\"examples\" data-kind=\"" + html_escape(kind) + "\">\n<h3>" +
                    html_escape(kind_title(kind)) + "</h3>\n" + items;
    if (total > kHtmlExamplesPerKind) {
        o += "<p class=\"note\">" + num(kHtmlExamplesPerKind) + " of " + num(total) +
             " kept examples shown.</p>\n";
    }
    return o + "</section>\n";
}

// The examples of each kind, in the order status, headers, body, then any other kind. Status
// examples come from the status mismatch examples when no "status" difference example exists.
std::string differences_section(const ReplayCounters& c) {
    std::vector<DifferenceExample> examples = c.difference_examples;
    std::vector<std::string> kinds{"status", "headers", "body"};
    bool have_status = false, have_body = false;
    for (const DifferenceExample& d : examples) {
        have_status = have_status || d.kind == "status";
        have_body = have_body || d.kind == "body";
        if (std::find(kinds.begin(), kinds.end(), d.kind) == kinds.end()) {
            kinds.push_back(d.kind);
        }
    }
    if (!have_status) {
        for (const StatusMismatch& m : c.mismatch_examples) {
            examples.push_back(
                {"status", "", m.client, m.session, m.request, "", m.expected, m.got});
        }
    }
    std::string o = "<section id=\"differences\">\n<h2>Differences, recorded vs replayed</h2>\n";
    std::string sections;
    for (const std::string& kind : kinds) {
        sections += kind_section(kind, examples);
    }
    o += sections.empty()
             ? "<p class=\"note\">No example of a difference was kept in this run.</p>\n"
             : sections;
    // Differences the counters know of but no example shows.
    uint64_t bodies_differ = 0;
    for (const EndpointStats& e : c.endpoints.all()) {
        bodies_differ += e.body_mismatch;
    }
    if (bodies_differ > 0 && !have_body) {
        const std::string n = num(bodies_differ);
        o += "<p class=\"note\" id=\"body-examples-missing\">Bodies differ from the recording in " +
             n + " answers (table above); no example of them was kept.</p>\n";
    }
    return o + "</section>\n";
}

}  // namespace

std::string format_html(const RunSummary& s, const std::string& source_lines) {
    const std::string nonce = make_nonce();
    std::string o = page_head(s, nonce);
    o += "<body data-ready=\"0\">\n";
    o += overview(s, source_lines);
    o += endpoint_table(s.counters.endpoints);
    o += latency_section(s.counters.endpoints);
    o += differences_section(s.counters);
    o += "<p class=\"note\">Written by tcpreplay2 " TCPR_VERSION
         "; self-contained: no external assets.</p>\n";
    o += "<script nonce=\"" + nonce + "\">" + kReportScript + "</script>\n</body>\n</html>\n";
    return o;
}

}  // namespace tcpr::replay
