// Text for the HTML report (html_report.h): escaping of untrusted text (names, answers and
// requests come from the recording and the target) and latency labels.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tcpr::replay {

// `text` safe as HTML text and as a quoted attribute value: & < > " ' become entities, control
// bytes other than tab, CR and LF become '.'. Bytes >= 0x80 are kept (the page is UTF-8; a
// browser shows invalid sequences as U+FFFD, which cannot open a tag).
std::string html_escape(std::string_view text);

// Microseconds as "850 us", "12.3 ms", "1.25 s".
std::string latency_label(uint64_t us);

// `text` cut to at most `max_bytes` with "\n... (N more bytes not shown)" appended when cut.
std::string cut_text(const std::string& text, size_t max_bytes);

}  // namespace tcpr::replay
