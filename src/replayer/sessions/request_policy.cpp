#include "replayer/sessions/request_policy.h"

#include <algorithm>
#include <string_view>

#include "common/net/tcp_seq.h"
#include "replayer/sessions/recording.h"

namespace tcpr::replay {
namespace {

constexpr size_t kHeadBytes = 64;

}  // namespace

std::string first_line(std::span<const uint8_t> head) {
    std::string out;
    for (size_t i = 0; i < head.size() && i < kHeadBytes; ++i) {
        const uint8_t ch = head[i];
        if (ch == '\r' || ch == '\n') {
            break;
        }
        out.push_back(ch >= 0x20 && ch < 0x7f ? static_cast<char>(ch) : '.');
    }
    return out;
}

void parse_syn_options(const net::PacketView& v, std::span<const uint8_t> frame, uint16_t& mss,
                       uint8_t& wscale) {
    const net::TcpOptions o = net::tcp_options_of(v, frame);
    if (o.mss != 0) {
        mss = o.mss;
    }
    if (o.window_scale != 0xff) {
        wscale = o.window_scale;
    }
}

bool looks_like_request_start(std::span<const uint8_t> bytes) {
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()),
                                std::min<size_t>(bytes.size(), 16));
    // RESP (Redis): an array of bulk strings, "*<count>\r\n$".
    if (text.size() >= 4 && text[0] == '*' && text[1] >= '1' && text[1] <= '9') {
        const size_t eol = text.find("\r\n");
        return eol != std::string_view::npos && eol + 2 < text.size() && text[eol + 2] == '$' &&
               text.find_first_not_of("0123456789", 1) == eol;
    }
    // HTTP/1.x: a request line "METHOD /..." (or "METHOD *", "CONNECT host:port", "METHOD http:").
    static constexpr std::string_view kMethods[] = {"GET",     "POST",  "PUT",     "HEAD", "DELETE",
                                                    "OPTIONS", "PATCH", "CONNECT", "TRACE"};
    for (const std::string_view m : kMethods) {
        if (text.size() > m.size() + 1 && text.substr(0, m.size()) == m && text[m.size()] == ' ') {
            const char c = text[m.size() + 1];
            return c == '/' || c == '*' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9');
        }
    }
    return false;
}

bool BoundaryWatch::at_boundary(const RequestPolicy& policy, const net::PacketView& v,
                                std::span<const uint8_t> frame, uint64_t ts_ns) const {
    const bool after_answer = server_spoke_ && v.ack_flag() && net::seq_ge(v.ack, server_end_);
    const bool after_pause = policy.pause_ns > 0 && ts_ns >= client_ts_ + policy.pause_ns;
    return after_answer || after_pause ||
           (policy.recognize_starts &&
            looks_like_request_start(frame.subspan(v.payload_offset, v.captured_payload)));
}

bool BoundaryWatch::server_data(uint32_t seq, uint32_t len) {
    const uint32_t end = seq + len;
    const bool first = !server_spoke_;
    if (first || net::seq_gt(end, server_end_)) {
        server_end_ = end;
    }
    server_spoke_ = true;
    return first;
}

}  // namespace tcpr::replay
