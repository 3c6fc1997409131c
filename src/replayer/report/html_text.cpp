#include "replayer/report/html_text.h"

#include <cstdio>

namespace tcpr::replay {

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                // NUL and other controls are parse errors in HTML; show them as the rest of
                // the report does.
                out.push_back((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f ? '.'
                                                                                             : c);
        }
    }
    return out;
}

std::string latency_label(uint64_t us) {
    char buf[32];
    if (us < 10'000) {
        std::snprintf(buf, sizeof buf, "%llu us", static_cast<unsigned long long>(us));
    } else if (us < 1'000'000) {
        std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(us) / 1e3);
    } else {
        std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(us) / 1e6);
    }
    return buf;
}

std::string cut_text(const std::string& text, size_t max_bytes) {
    if (text.size() <= max_bytes) {
        return text;
    }
    return text.substr(0, max_bytes) + "\n... (" + std::to_string(text.size() - max_bytes) +
           " more bytes not shown)";
}

}  // namespace tcpr::replay
