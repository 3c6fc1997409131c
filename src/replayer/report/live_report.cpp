#include "replayer/report/live_report.h"

#include <chrono>

#include "common/base/parse.h"
#include "common/base/stats.h"

namespace tcpr::replay {
namespace {

std::string num(uint64_t v) { return std::to_string(v); }

}  // namespace

std::string format_live_summary(const LiveStats& l, uint64_t kernel_drops,
                                const std::string& recorded) {
    std::string o;
    o += "  live: " + num(l.connections) + " new connections, " + num(l.sessions) +
         " copied; not copied: " + num(l.not_selected) + " by --sample/--sessions, " +
         num(l.dropped_cap) + " over --max-active, " + num(l.dropped_buffer) +
         " while the buffer was full, " + num(l.dropped_behind) +
         " while a copy was over --max-lag behind (most behind: " +
         format_duration(std::chrono::nanoseconds(l.peak_lag_ns)) + ")";
    if (l.other_family + l.dropped_tracking > 0) {
        o += ", " + num(l.other_family) + " of the other IP version, " + num(l.dropped_tracking) +
             " untracked (table full)";
    }
    o += "\n";
    o += "  already open at start: " + num(l.mid_session) +
         " copied with a built SYN from their first request boundary (" +
         human_bytes(l.mid_session_skipped_bytes) + " before it skipped), " +
         num(l.mid_session_never) + " ended before any boundary, " + num(l.mid_session_waiting) +
         " still waiting\n";
    o += "  ended: " + num(l.expired) + " idle (expired), " + num(l.ended_at_stop) +
         " still open at stop, " + num(l.cut) + " cut at the buffer limit, " +
         num(l.cut_capture_loss) + " ended before bytes the capture lost, " + num(l.cut_behind) +
         " given no more requests (over --max-lag behind); peak " + num(l.peak_sessions) +
         " sessions and " + human_bytes(l.peak_buffer) + " buffered";
    if (l.implausible > 0) {
        o += "; " + num(l.implausible) +
             " ended by a new connection on their tuple whose SYN the capture lost";
    }
    if (l.copies_not_started > 0) {
        o += "; " + num(l.copies_not_started) + " copies not started (no free client endpoint)";
    }
    o += "\n";
    o += "  capture: " + num(l.frames) + " packets, kernel drops " + num(kernel_drops);
    if (l.missing_bytes > 0) {
        o += ", " + num(l.missing_bytes) +
             " client bytes lost by the capture (never sent: the copies of their sessions ended "
             "before the requests they belong to)";
    }
    o += "\n";
    if (!recorded.empty()) {
        o += "  recorded: " + recorded + "\n";
    }
    return o;
}

std::string format_live_json(const RunSummary& s, const LiveStats& l, uint64_t kernel_drops,
                             const std::string& recorded) {
    std::string json = format_json(s);
    const auto end = json.rfind("\n}");
    if (end == std::string::npos) {
        return json;
    }
    std::string rec;
    for (char ch : recorded) {
        if (ch == '"' || ch == '\\') {
            rec += '\\';
        }
        rec += ch;
    }
    std::string live =
        ",\n  \"live\": {\"connections\": " + num(l.connections) +
        ", \"copied\": " + num(l.sessions) + ", \"mid_session\": " + num(l.mid_session) +
        ", \"mid_session_never\": " + num(l.mid_session_never) +
        ", \"mid_session_skipped_bytes\": " + num(l.mid_session_skipped_bytes) +
        ", \"not_selected\": " + num(l.not_selected) + ", \"dropped_cap\": " + num(l.dropped_cap) +
        ", \"dropped_buffer\": " + num(l.dropped_buffer) +
        ", \"dropped_behind\": " + num(l.dropped_behind) +
        ", \"peak_lag_ms\": " + num(l.peak_lag_ns / 1'000'000) +
        ", \"expired\": " + num(l.expired) + ", \"ended_at_stop\": " + num(l.ended_at_stop) +
        ", \"cut\": " + num(l.cut) + ", \"cut_capture_loss\": " + num(l.cut_capture_loss) +
        ", \"cut_behind\": " + num(l.cut_behind) + ", \"implausible\": " + num(l.implausible) +
        ", \"copies_not_started\": " + num(l.copies_not_started) +
        ", \"packets\": " + num(l.frames) + ", \"kernel_drops\": " + num(kernel_drops) +
        ", \"peak_sessions\": " + num(l.peak_sessions) +
        ", \"peak_buffer_bytes\": " + num(l.peak_buffer) + ", \"recorded\": \"" + rec + "\"}";
    return json.substr(0, end) + live + json.substr(end);
}

}  // namespace tcpr::replay
