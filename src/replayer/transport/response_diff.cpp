#include "replayer/transport/response_diff.h"

#include <algorithm>
#include <cstdio>

#include "replayer/sessions/recording.h"

namespace tcpr::replay {
namespace {

constexpr size_t kShownRequestBytes = 256;
constexpr size_t kShownHeadBytes = 128;
constexpr size_t kBufferBytes = 64u << 10;

std::span<const uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

ResponseCheck compare_response(std::string_view recorded_status, uint64_t recorded_len,
                               std::span<const uint8_t> replayed_head, uint64_t replayed_len) {
    ResponseCheck c;
    c.length = replayed_len == recorded_len  ? ResponseCheck::Length::Equal
               : replayed_len > recorded_len ? ResponseCheck::Length::Longer
                                             : ResponseCheck::Length::Shorter;
    if (replayed_head.empty() || recorded_status.empty()) {
        c.status = ResponseCheck::Status::Unknown;
        return c;
    }
    c.replayed_status = first_line(replayed_head);
    // A line cut by the end of the head compares on what is there.
    const bool cut = c.replayed_status.size() == replayed_head.size();
    const bool same = cut ? recorded_status.substr(0, c.replayed_status.size()) == c.replayed_status
                          : recorded_status == c.replayed_status;
    c.status = same ? ResponseCheck::Status::Match : ResponseCheck::Status::Mismatch;
    return c;
}

std::string escape_bytes(std::span<const uint8_t> bytes, size_t max_bytes) {
    std::string out = "\"";
    const size_t n = std::min(bytes.size(), max_bytes);
    for (size_t i = 0; i < n; ++i) {
        const uint8_t ch = bytes[i];
        switch (ch) {
            case '\r':
                out += "\\r";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            default:
                if (ch >= 0x20 && ch < 0x7f) {
                    out.push_back(static_cast<char>(ch));
                } else {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\x%02x", ch);
                    out += buf;
                }
        }
    }
    out += "\"";
    if (bytes.size() > n) {
        out += "...";
    }
    return out;
}

std::string format_diff_entry(const DiffEntry& e) {
    std::string o = "=== session " + std::to_string(e.session) + " request " +
                    std::to_string(e.request + 1) + "/" + std::to_string(e.request_count) +
                    ", copy " + std::to_string(e.copy) + ", loop " + std::to_string(e.loop) +
                    ": recorded client " + e.recorded_client.to_string() + ", replayed from " +
                    e.replayed_client.to_string() + " to " + e.target.to_string() + "\n";
    o += "differs:";
    if (e.check != nullptr && e.check->status == ResponseCheck::Status::Mismatch) {
        o += " status line";
        if (e.check->length != ResponseCheck::Length::Equal) {
            o += ";";
        }
    }
    if (e.check == nullptr || e.check->length != ResponseCheck::Length::Equal) {
        const int64_t delta =
            static_cast<int64_t>(e.replayed_len) - static_cast<int64_t>(e.recorded_len);
        o += " length " + std::to_string(e.recorded_len) + " recorded, " +
             std::to_string(e.replayed_len) + " replayed (" + (delta > 0 ? "+" : "") +
             std::to_string(delta) + ")";
    }
    o += "\n";
    o += "request (" + std::to_string(e.request_bytes.size()) +
         " bytes): " + escape_bytes(e.request_bytes, kShownRequestBytes) + "\n";
    o += "recorded response (" + std::to_string(e.recorded_len) + " bytes): ";
    if (!e.recorded_head.empty()) {
        o += escape_bytes(as_bytes(e.recorded_head), kShownHeadBytes);
        if (e.recorded_head.size() < e.recorded_len) {
            o += "...";  // the capture holds only the first bytes of each answer
        }
    } else if (!e.recorded_status.empty()) {
        o += escape_bytes(as_bytes(e.recorded_status), kShownHeadBytes) + "...";
    } else {
        o += e.recorded_len > 0 ? "(not captured)" : "(none)";
    }
    o += "\n";
    o += "replayed response (" + std::to_string(e.replayed_len) + " bytes): ";
    if (!e.replayed_head.empty()) {
        o += escape_bytes(e.replayed_head, kShownHeadBytes);
        if (e.replayed_head.size() < e.replayed_len && e.replayed_head.size() <= kShownHeadBytes) {
            o += "...";
        }
    } else {
        o += "(none)";
    }
    o += "\n";
    return o;
}

DiffWriter::DiffWriter(const std::string& path, const std::string& header, uint64_t max_entries)
    : file_(os::AtomicFile::create(path)), max_entries_(max_entries) {
    write(header);
}

void DiffWriter::write(const std::string& text) { file_.write(as_bytes(text)); }

void DiffWriter::add(const DiffEntry& e) {
    ++entries_;
    if (written_ >= max_entries_) {
        return;
    }
    ++written_;
    pending_ += format_diff_entry(e);
    if (pending_.size() >= kBufferBytes) {
        write(pending_);
        pending_.clear();
    }
}

void DiffWriter::commit() {
    pending_ += "# " + std::to_string(entries_) + " responses differ from the recording";
    if (written_ < entries_) {
        pending_ += "; the first " + std::to_string(written_) + " are listed";
    }
    pending_ += "\n";
    write(pending_);
    pending_.clear();
    file_.commit();
}

}  // namespace tcpr::replay
