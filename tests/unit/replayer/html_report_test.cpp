// The HTML report (--report html): one self-contained page whose untrusted text (endpoint
// names, recorded and replayed answers) stays text, with one table row per endpoint, one latency
// plot per plotted endpoint plus all endpoints merged, the sort script, and bounded size.
#include "replayer/report/html_report.h"

#include <string>

#include <catch2/catch.hpp>

#include "replayer/report/html_text.h"
#include "replayer/report/latency_plot.h"

namespace tcpr::replay {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

// `n` endpoints "GET /e<i>", endpoint i answered i+1 times, the first with a status mismatch,
// latencies recorded 100 us and replayed 100 us + 10 us x i.
RunSummary summary_with_endpoints(size_t n) {
    RunSummary s;
    s.input = "mon.pcap.zst";
    s.target = "10.0.0.2:80";
    s.counters.sessions_planned = s.counters.sessions_started = 10;
    s.counters.sessions_completed = 10;
    EndpointTable& t = s.counters.endpoints;
    for (size_t i = 0; i < n; ++i) {
        const uint32_t id = t.id_of(bytes("GET /e" + std::to_string(i) + "x HTTP/1.1\r\n\r\n"));
        for (size_t k = 0; k <= i; ++k) {
            RecordedRequest r;
            r.answer_first_us = 100;
            r.answer_last_us = 200;
            t.record(id, r, i == 0, static_cast<uint32_t>(100 + 10 * i),
                     static_cast<uint32_t>(300 + 10 * i));
            t.body_verdict(id, 1, 0, 0);
        }
    }
    return s;
}

}  // namespace

TEST_CASE("html escaping keeps markup from the recording as text", "[html]") {
    CHECK(html_escape("<script>alert('x')</script> & \"q\"") ==
          "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    CHECK(html_escape(std::string("a\0b\x01\tc\r\n\x7f", 9)) == "a.b.\tc\r\n.");
    CHECK(html_escape("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 kept
    CHECK(latency_label(850) == "850 us");
    CHECK(latency_label(12'345) == "12.3 ms");
    CHECK(latency_label(1'250'000) == "1.25 s");
    CHECK(cut_text("abcdef", 4) == "abcd\n... (2 more bytes not shown)");
    CHECK(cut_text("abc", 4) == "abc");
}

TEST_CASE("the html report escapes names and example bodies", "[html]") {
    RunSummary s = summary_with_endpoints(2);
    s.input = "<b>in</b>.pcap";
    EndpointTable& t = s.counters.endpoints;
    const uint32_t evil = t.id_of(bytes("GET /<script>alert(1)</script> HTTP/1.1\r\n\r\n"));
    RecordedRequest r;
    t.record(evil, r, true, 10, 20);
    t.body_verdict(evil, 1, 1, 0);
    const std::string evil_name = t.all()[evil].name;
    REQUIRE(evil_name.find("<script>") != std::string::npos);
    s.counters.difference_examples.push_back(
        {"body", evil_name, "10.0.0.1:5000", 3, 0, "GET /<script> HTTP/1.1",
         "HTTP/1.1 200 OK\r\n\r\n<script>alert('recorded')</script>",
         "HTTP/1.1 200 OK\r\n\r\n<img src=x onerror=alert(2)>"});
    const std::string html = format_html(s);
    // The page's own script is the only <script> element.
    CHECK(count(html, "<script") == 1);
    CHECK(count(html, "<img") == 0);
    CHECK_THAT(html, Catch::Contains("&lt;script&gt;alert(&#39;recorded&#39;)&lt;/script&gt;"));
    CHECK_THAT(html, Catch::Contains("&lt;img src=x onerror=alert(2)&gt;"));
    CHECK_THAT(html, Catch::Contains("data-name=\"GET /&lt;script&gt;alert(1)&lt;/script&gt;\""));
    CHECK_THAT(html,
               Catch::Contains("data-endpoint=\"GET /&lt;script&gt;alert(1)&lt;/script&gt;\""));
    CHECK_THAT(html, Catch::Contains("&lt;b&gt;in&lt;/b&gt;.pcap"));
    // Recorded and replayed side by side.
    CHECK(count(html, "<pre class=\"recorded\">") == 1);
    CHECK(count(html, "<pre class=\"replayed\">") == 1);
    CHECK_THAT(html, Catch::Contains("<section class=\"examples\" data-kind=\"body\">"));
}

TEST_CASE("the html report has a row per endpoint, a plot per plotted endpoint, and the script",
          "[html]") {
    const RunSummary s = summary_with_endpoints(7);
    const std::string html = format_html(s);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(count(html, "<table id=\"endpoints\">") == 1);
    CHECK(count(html, "<tr class=\"endpoint\"") == 7);
    // Worst first: the endpoint with a status mismatch, then by latency change (e6 the slowest).
    const std::string first_row = "<tr class=\"endpoint\" data-name=\"GET /e0x\" data-rank=\"1\"";
    CHECK(html.substr(html.find("<tr class=\"endpoint\""), first_row.size()) == first_row);
    CHECK(html.find("data-name=\"GET /e6x\" data-rank=\"2\"") != std::string::npos);
    // All endpoints merged, then each endpoint.
    CHECK(count(html, "<svg class=\"latency-plot\"") == 8);
    CHECK(count(html, "data-endpoint=\"(all endpoints)\"") == 1);
    CHECK(count(html, "<polyline class=\"recorded\"") == 8);
    CHECK(count(html, "<polyline class=\"replayed\"") == 8);
    // Self-contained: nothing loaded from elsewhere.
    CHECK(html.find("src=\"http") == std::string::npos);
    CHECK(html.find("href=\"http") == std::string::npos);
    CHECK(html.find("<link") == std::string::npos);
    CHECK(html.find("@import") == std::string::npos);
    CHECK_THAT(html, Catch::Contains("Content-Security-Policy"));
    // The sort script, and the mark it sets when it ran.
    CHECK_THAT(html, Catch::Contains("addEventListener('click'"));
    CHECK_THAT(html, Catch::Contains("setAttribute('data-ready', '1')"));
    CHECK_THAT(html, Catch::Contains("<body data-ready=\"0\">"));
    // The text summary, and no examples kept.
    CHECK_THAT(html, Catch::Contains("<pre id=\"summary\">replayed mon.pcap.zst"));
    CHECK_THAT(html, Catch::Contains("No example of a difference was kept"));
    CHECK(html.find("body-examples-missing") == std::string::npos);
}

TEST_CASE("the html report shows status mismatch examples when no status example was kept",
          "[html]") {
    RunSummary s = summary_with_endpoints(1);
    s.counters.mismatch_examples.push_back(
        {"10.0.0.1:7919", 4, 1, "HTTP/1.1 200 OK", "HTTP/1.1 404 <Not Found>"});
    std::string html = format_html(s);
    CHECK_THAT(html, Catch::Contains("<section class=\"examples\" data-kind=\"status\">"));
    CHECK_THAT(html, Catch::Contains("<pre class=\"recorded\">HTTP/1.1 200 OK</pre>"));
    CHECK_THAT(html,
               Catch::Contains("<pre class=\"replayed\">HTTP/1.1 404 &lt;Not Found&gt;</pre>"));
    // Bodies that differ without an example: said.
    CHECK(html.find("body-examples-missing") == std::string::npos);
    s.counters.endpoints.record(0, RecordedRequest{}, false, 1, 2);
    s.counters.endpoints.body_verdict(0, 1, 1, 0);
    html = format_html(s);
    CHECK_THAT(html, Catch::Contains("Bodies differ from the recording in 1 answers"));
    // A kept "status" difference example replaces them.
    s.counters.difference_examples.push_back({"status", "GET /e0x", "10.0.0.1:7919", 4, 1,
                                              "GET /e0x", "HTTP/1.1 200 OK\r\nA: b",
                                              "HTTP/1.1 500 Oops\r\nA: b"});
    html = format_html(s);
    CHECK(count(html, "<div class=\"example\" data-kind=\"status\"") == 1);
    CHECK_THAT(html, Catch::Contains("HTTP/1.1 500 Oops"));
}

TEST_CASE("the html report stays bounded and says what it left out", "[html]") {
    RunSummary s = summary_with_endpoints(kHtmlMaxPlots + 5);
    for (size_t i = 0; i < kHtmlExamplesPerKind + 3; ++i) {
        s.counters.difference_examples.push_back({"headers", "GET /e1x", "c", 0, 0, "",
                                                  std::string(3 * kHtmlMaxExampleBytes, 'r'),
                                                  "replayed"});
    }
    const std::string html = format_html(s);
    CHECK(count(html, "<tr class=\"endpoint\"") == kHtmlMaxPlots + 5);
    CHECK(count(html, "<svg class=\"latency-plot\"") == kHtmlMaxPlots + 1);
    CHECK_THAT(html, Catch::Contains("id=\"plots-cut\""));
    CHECK(count(html, "<div class=\"example\" data-kind=\"headers\"") == kHtmlExamplesPerKind);
    CHECK_THAT(html,
               Catch::Contains(std::to_string(kHtmlExamplesPerKind) + " of " +
                               std::to_string(kHtmlExamplesPerKind + 3) + " kept examples shown"));
    CHECK_THAT(html, Catch::Contains("more bytes not shown"));
    CHECK(html.size() < 300'000);
}

TEST_CASE("latency plots draw both curves on a log axis and survive empty histograms", "[html]") {
    LogHistogram rec, rep;
    const std::string empty = latency_plot_svg("x", rec, rep);
    CHECK(count(empty, "<polyline") == 0);
    CHECK(count(empty, "no latency measured") == 2);
    rec.add(150, 10);
    rec.add(2'000);
    rep.add(30'000, 5);
    const std::string svg = latency_plot_svg("GET /a", rec, rep);
    CHECK(svg.rfind("<svg class=\"latency-plot\" data-endpoint=\"GET /a\"", 0) == 0);
    CHECK(count(svg, "<polyline class=\"recorded\"") == 1);
    CHECK(count(svg, "<polyline class=\"replayed\"") == 1);
    // Decades from 100 us to 100 ms.
    CHECK_THAT(svg, Catch::Contains(">100 us</text>"));
    CHECK_THAT(svg, Catch::Contains(">100 ms</text>"));
    CHECK_THAT(svg, Catch::Contains("recorded: 11 answers"));
    CHECK_THAT(svg, Catch::Contains("replayed: 5 answers"));
}

}  // namespace tcpr::replay
