#include "replayer/sessions/session_builder.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "common/net/flow_key.h"
#include "common/net/tcp_seq.h"

namespace tcpr::replay {
namespace {

using net::tcp_flags::kAck;
using net::tcp_flags::kFin;
using net::tcp_flags::kRst;
using net::tcp_flags::kSyn;

constexpr size_t kHeadBytes = 64;
constexpr size_t kMaxHeadsPerConnection = 1u << 16;
constexpr uint32_t kTsoThreshold = 1460;
constexpr uint64_t kSweepPeriodNs = 1'000'000'000;

// Sorted, merged intervals [begin, end) of client stream bytes present in the capture.
class Coverage {
  public:
    void add(uint32_t b, uint32_t e) {
        if (b >= e) {
            return;
        }
        if (!iv_.empty() && iv_.back().second >= b && iv_.back().first <= b) {
            iv_.back().second = std::max(iv_.back().second, e);  // the common in-order case
            return;
        }
        iv_.emplace_back(b, e);
        std::sort(iv_.begin(), iv_.end());
        std::vector<std::pair<uint32_t, uint32_t>> merged;
        for (const auto& x : iv_) {
            if (!merged.empty() && x.first <= merged.back().second) {
                merged.back().second = std::max(merged.back().second, x.second);
            } else {
                merged.push_back(x);
            }
        }
        iv_.swap(merged);
    }
    uint64_t covered() const {
        uint64_t n = 0;
        for (const auto& x : iv_) {
            n += x.second - x.first;
        }
        return n;
    }

  private:
    std::vector<std::pair<uint32_t, uint32_t>> iv_;
};

struct PendingRequest {
    uint32_t begin = 0;
    uint32_t ack_start = 0;  // server stream offset the client had read when it began
    uint64_t think_ns = 0;
};

struct Head {
    uint32_t rel = 0;  // server stream offset of its first byte
    uint32_t off = 0;  // in Connection::head_bytes
    uint8_t len = 0;
};

// A connection being assembled.
struct Connection {
    net::Endpoint client, server;
    bool selected = true;
    bool syn_seen = false, synack_seen = false;
    bool client_base_set = false, server_base_set = false;
    uint32_t client_base = 0, server_base = 0;  // seq of the first stream byte each way
    uint32_t syn_seq = 0;
    uint16_t mss = 0;
    uint8_t wscale = 0xff;
    uint64_t first_ts = 0, last_ts = 0, syn_ts = 0, handshake_ts = 0;
    bool handshake_done = false;

    std::vector<uint8_t> data;  // client stream, index = offset
    Coverage coverage;
    uint32_t high = 0;  // end of the highest client byte seen
    std::vector<PendingRequest> requests;
    uint32_t cur_ack = 0;
    uint64_t last_client_data_ts = 0, last_server_data_ts = 0;
    bool any_client_data = false, any_server_data = false;

    uint32_t server_high = 0;
    bool server_spoke_since_client = false;
    std::vector<Head> heads;
    std::vector<uint8_t> head_bytes;

    // A connection captured without its handshake: its first client bytes may be the tail of a
    // request, and the server's may answer a request the capture lacks. Until the first
    // request boundary (BoundaryWatch) both are skipped and counted.
    bool awaiting_boundary = false;
    bool pre_client_data = false;  // client bytes were skipped
    BoundaryWatch boundary;

    CloseKind close = CloseKind::None;
    uint64_t close_ts = 0;
    bool server_fin = false, server_rst = false, server_closed_first = false;

    bool closed() const { return close != CloseKind::None || server_rst; }
    // The last payload either way; before any, the end of the handshake (or the stream's start).
    uint64_t last_activity() const {
        const uint64_t last_data = std::max(last_client_data_ts, last_server_data_ts);
        if (last_data != 0) {
            return last_data;
        }
        return handshake_done ? handshake_ts : first_ts;
    }
};

}  // namespace

struct SessionBuilder::Impl {
    BuilderOptions opt;
    Recording rec;
    std::unordered_map<net::FlowKey, Connection, net::FlowKeyHash> open;
    bool have_first = false;
    uint64_t last_sweep_ts = 0;

    bool is_server_port(uint16_t port) const {
        if (opt.selection.server_port) {
            return port == *opt.selection.server_port;
        }
        return opt.default_server_port && port == *opt.default_server_port;
    }

    // Orients a connection from its first packet.
    void orient(Connection& c, const net::PacketView& v) {
        const net::Endpoint src{v.src, v.sport}, dst{v.dst, v.dport};
        if (v.syn() && !v.ack_flag()) {
            c.client = src;
            c.server = dst;
        } else if (v.syn() && v.ack_flag()) {
            c.client = dst;
            c.server = src;
        } else if (is_server_port(v.dport) && !is_server_port(v.sport)) {
            c.client = src;
            c.server = dst;
        } else if (is_server_port(v.sport) && !is_server_port(v.dport)) {
            c.client = dst;
            c.server = src;
        } else if (v.sport > v.dport) {  // neither or both: the lower port serves
            c.client = src;
            c.server = dst;
        } else {
            c.client = dst;
            c.server = src;
        }
    }

    bool select(const Connection& c, uint64_t ts) {
        const Selection& s = opt.selection;
        if (s.server_port && c.server.port != *s.server_port) {
            ++rec.stats.other_port;
            return false;
        }
        const uint64_t offset = ts - rec.first_ns;
        bool ok = offset >= s.from_ns && (!s.to_ns || offset < *s.to_ns);
        if (ok && !s.client_nets.empty()) {
            ok = std::any_of(s.client_nets.begin(), s.client_nets.end(),
                             [&](const Cidr& n) { return n.contains(c.client.addr); });
        }
        if (ok && s.sample_percent < 100.0) {
            const uint64_t h = mix64(net::FlowKeyHash{}(net::FlowKey::of(c.client, c.server)) ^
                                     mix64(ts ^ s.sample_seed));
            ok = static_cast<double>(h % 1'000'000) < s.sample_percent * 10'000.0;
        }
        if (!ok) {
            ++rec.stats.not_selected;
        }
        return ok;
    }

    void add(const net::PacketView& v, std::span<const uint8_t> frame, uint64_t ts) {
        ++rec.stats.tcp_packets;
        if (!have_first) {
            have_first = true;
            rec.first_ns = ts;
            rec.last_ns = ts;
            last_sweep_ts = ts;
        }
        rec.first_ns = std::min(rec.first_ns, ts);
        rec.last_ns = std::max(rec.last_ns, ts);
        const net::Endpoint src{v.src, v.sport}, dst{v.dst, v.dport};
        const net::FlowKey key = net::FlowKey::of(src, dst);

        auto it = open.find(key);
        if (it != open.end() && v.syn() && !v.ack_flag() && src == it->second.client) {
            const Connection& c = it->second;
            const bool retransmitted_syn = c.syn_seen && c.syn_seq == v.seq;
            if (!retransmitted_syn && (c.syn_seen || c.any_client_data || c.closed())) {
                complete(it->second);  // a new connection on a reused tuple
                open.erase(it);
                it = open.end();
            }
        }
        if (it == open.end()) {
            Connection c;
            orient(c, v);
            c.first_ts = ts;
            c.awaiting_boundary = !v.syn();
            c.boundary = BoundaryWatch(rec.first_ns);
            ++rec.stats.connections;
            c.selected = select(c, ts);
            it = open.emplace(key, std::move(c)).first;
        }
        Connection& c = it->second;
        c.last_ts = ts;
        if (c.selected) {
            if (src == c.client) {
                client_packet(c, v, frame, ts);
            } else {
                server_packet(c, v, frame, ts);
            }
        }
        if (ts >= last_sweep_ts + kSweepPeriodNs) {
            sweep(ts);
            last_sweep_ts = ts;
        }
    }

    void client_packet(Connection& c, const net::PacketView& v, std::span<const uint8_t> frame,
                       uint64_t ts) {
        if (v.syn()) {
            if (!c.syn_seen) {
                c.syn_seen = true;
                c.syn_seq = v.seq;
                c.syn_ts = ts;
                c.client_base = v.seq + 1;
                c.client_base_set = true;
                parse_syn_options(v, frame, c.mss, c.wscale);
            }
            return;
        }
        if (c.awaiting_boundary) {
            if (v.payload_len == 0 || !c.boundary.at_boundary(opt.policy, v, frame, ts)) {
                skip_before_boundary(c, v, ts);
                return;
            }
            begin_at_boundary(c, v, ts);
        }
        if (!c.client_base_set) {
            c.client_base = v.seq;
            c.client_base_set = true;
        }
        if (v.ack_flag() && !c.server_base_set) {
            c.server_base = v.ack;
            c.server_base_set = true;
        }
        if (!c.handshake_done && (c.synack_seen || c.syn_seen) && v.ack_flag()) {
            c.handshake_done = true;
            c.handshake_ts = ts;
        }
        if (v.payload_len > 0) {
            client_data(c, v, frame, ts);
        }
        if (c.close == CloseKind::None && (v.fin() || v.rst())) {
            c.close = v.fin() ? CloseKind::Fin : CloseKind::Rst;
            c.close_ts = ts;
            if (c.server_fin) {
                c.server_closed_first = true;
            }
        }
    }

    void client_data(Connection& c, const net::PacketView& v, std::span<const uint8_t> frame,
                     uint64_t ts) {
        if (v.payload_len > kTsoThreshold) {
            ++rec.stats.oversized_segments;
        }
        int64_t off = net::seq_diff(v.seq, c.client_base);
        uint32_t skip = 0;  // bytes before the stream start (old retransmission)
        if (off < 0) {
            if (-off >= static_cast<int64_t>(v.payload_len)) {
                return;
            }
            skip = static_cast<uint32_t>(-off);
            off = 0;
        }
        const uint32_t begin = static_cast<uint32_t>(off);
        const uint32_t end = begin + (v.payload_len - skip);
        if (end > c.high) {
            // New bytes: do they begin a new request?
            uint32_t ack_rel = c.cur_ack;
            if (v.ack_flag() && c.server_base_set) {
                const int32_t d = net::seq_diff(v.ack, c.server_base);
                ack_rel = d > 0 ? static_cast<uint32_t>(d) : 0;
            }
            const uint64_t since = c.last_activity();
            if (!c.any_client_data) {
                const uint64_t from = c.handshake_done ? c.handshake_ts : c.first_ts;
                if (ack_rel > 0 && opt.policy.split_on_ack) {
                    // The server spoke first and the client read it: an empty request whose
                    // answer is that greeting, so replay waits for the target's greeting.
                    c.requests.push_back({0, 0, 0});
                    c.requests.push_back({0, ack_rel, ts > since ? ts - since : 0});
                } else {
                    c.requests.push_back({0, ack_rel, ts > from ? ts - from : 0});
                }
                c.cur_ack = ack_rel;
            } else {
                const bool acked_more = opt.policy.split_on_ack && ack_rel > c.cur_ack;
                const bool paused =
                    opt.policy.pause_ns > 0 && ts >= c.last_client_data_ts + opt.policy.pause_ns;
                if (acked_more || paused) {
                    c.requests.push_back({c.high, ack_rel, ts > since ? ts - since : 0});
                    c.cur_ack = ack_rel;
                }
            }
            c.any_client_data = true;
            c.last_client_data_ts = ts;
            c.server_spoke_since_client = false;
        }
        // Store the captured bytes (snaplen may have cut some; those stay zero and are counted).
        const uint32_t captured = v.captured_payload > skip ? v.captured_payload - skip : 0;
        if (end > c.data.size()) {
            c.data.resize(end);
        }
        if (captured > 0) {
            std::memcpy(c.data.data() + begin, frame.data() + v.payload_offset + skip, captured);
            c.coverage.add(begin, begin + captured);
        }
        c.high = std::max(c.high, end);
    }

    void server_packet(Connection& c, const net::PacketView& v, std::span<const uint8_t> frame,
                       uint64_t ts) {
        if (v.syn()) {
            if (v.ack_flag() && !c.synack_seen) {
                c.synack_seen = true;
                c.server_base = v.seq + 1;
                c.server_base_set = true;
            }
            return;
        }
        if (c.awaiting_boundary) {
            // An answer to a request the capture does not hold (or not whole).
            if (v.payload_len > 0 && c.boundary.server_data(v.seq, v.payload_len)) {
                ++rec.stats.mid_session_skipped_answers;
            }
            server_close_flags(c, v);
            return;
        }
        if (!c.server_base_set) {
            c.server_base = v.seq;
            c.server_base_set = true;
        }
        if (v.payload_len > 0) {
            const int32_t d = net::seq_diff(v.seq, c.server_base);
            const uint32_t rel = d > 0 ? static_cast<uint32_t>(d) : 0;
            const uint32_t skip = d < 0 ? static_cast<uint32_t>(-d) : 0;
            if (skip < v.payload_len) {
                const uint32_t end = rel + (v.payload_len - skip);
                if (end > c.server_high) {
                    c.server_high = end;
                    c.last_server_data_ts = ts;
                    c.any_server_data = true;
                    const uint32_t captured =
                        v.captured_payload > skip ? v.captured_payload - skip : 0;
                    const bool wanted = !c.server_spoke_since_client || rel == 0;
                    if (captured > 0 && wanted && c.heads.size() < kMaxHeadsPerConnection) {
                        const auto n = static_cast<uint8_t>(std::min<size_t>(captured, kHeadBytes));
                        c.heads.push_back({rel, static_cast<uint32_t>(c.head_bytes.size()), n});
                        const uint8_t* p = frame.data() + v.payload_offset + skip;
                        c.head_bytes.insert(c.head_bytes.end(), p, p + n);
                    }
                    c.server_spoke_since_client = true;
                }
            }
        }
        server_close_flags(c, v);
    }

    static void server_close_flags(Connection& c, const net::PacketView& v) {
        if (v.fin() && !c.server_fin) {
            c.server_fin = true;
        }
        if (v.rst()) {
            c.server_rst = true;
        }
    }

    void skip_before_boundary(Connection& c, const net::PacketView& v, uint64_t ts) {
        if (v.payload_len > 0) {
            rec.stats.mid_session_skipped_bytes += v.payload_len;
            c.pre_client_data = true;
            c.boundary.client_skipped(ts);
        }
        if (c.close == CloseKind::None && (v.fin() || v.rst())) {
            c.close = v.fin() ? CloseKind::Fin : CloseKind::Rst;
            c.close_ts = ts;
        }
    }

    // The session starts here: its client stream at this segment, its server stream at what
    // this segment acknowledges.
    void begin_at_boundary(Connection& c, const net::PacketView& v, uint64_t ts) {
        c.awaiting_boundary = false;
        c.first_ts = ts;
        c.client_base = v.seq;
        c.client_base_set = true;
        c.server_base = v.ack;
        c.server_base_set = v.ack_flag();
    }

    void sweep(uint64_t now) {
        for (auto it = open.begin(); it != open.end();) {
            const Connection& c = it->second;
            const bool done = (c.closed() && now >= c.last_ts + opt.closed_linger_ns) ||
                              now >= c.last_ts + opt.idle_ns;
            if (done) {
                complete(it->second);
                it = open.erase(it);
            } else {
                ++it;
            }
        }
    }

    // Appends the recorded first line of the server data at stream offset `at`.
    void status_of(const Connection& c, uint32_t at, RecordedRequest& r) {
        for (const Head& h : c.heads) {
            if (h.rel <= at && at < h.rel + h.len) {
                const auto line = first_line(std::span<const uint8_t>(
                    c.head_bytes.data() + h.off + (at - h.rel), h.len - (at - h.rel)));
                r.status_off = static_cast<uint32_t>(rec.text.size());
                r.status_len = static_cast<uint16_t>(line.size());
                rec.text += line;
                // The raw head too, for the socket transport's --diff file.
                r.head_off = static_cast<uint32_t>(rec.text.size());
                r.head_len = static_cast<uint16_t>(h.len - (at - h.rel));
                rec.text.append(
                    reinterpret_cast<const char*>(c.head_bytes.data()) + h.off + (at - h.rel),
                    r.head_len);
                return;
            }
        }
    }

    void complete(Connection& c) {
        if (!c.selected) {
            return;
        }
        if (c.awaiting_boundary) {
            // Captured without its handshake and never reached a whole request.
            ++(c.pre_client_data ? rec.stats.mid_session_no_boundary : rec.stats.without_data);
            return;
        }
        if (!c.syn_seen && !c.any_client_data) {
            ++rec.stats.without_data;
            return;
        }
        RecordedSession s;
        s.client = c.client;
        s.server = c.server;
        s.start_ns = c.first_ts;
        s.end_ns = c.last_ts;
        s.has_syn = c.syn_seen;
        s.client_isn = c.syn_seen ? c.syn_seq : c.client_base - 1;
        s.mss = c.mss;
        s.window_scale = c.wscale;
        if (c.syn_seen && c.handshake_done && c.handshake_ts >= c.syn_ts) {
            s.rtt_ns = c.handshake_ts - c.syn_ts;
        }
        s.close = c.close;
        s.server_closed_first =
            c.server_closed_first || (c.server_fin && c.close == CloseKind::None);
        if (c.close != CloseKind::None) {
            const uint64_t since = c.last_activity();
            s.close_think_ns = c.close_ts > since ? c.close_ts - since : 0;
        }
        c.data.resize(c.high);
        s.stream_off = rec.arena.size();
        s.stream_len = c.high;
        s.missing_bytes = static_cast<uint32_t>(c.high - c.coverage.covered());
        rec.arena.insert(rec.arena.end(), c.data.begin(), c.data.end());
        s.first_request = static_cast<uint32_t>(rec.requests.size());
        for (size_t i = 0; i < c.requests.size(); ++i) {
            const PendingRequest& p = c.requests[i];
            RecordedRequest r;
            r.begin = p.begin;
            const bool last = i + 1 == c.requests.size();
            const uint32_t end = last ? c.high : c.requests[i + 1].begin;
            r.length = end - p.begin;
            const uint32_t answer_end = last ? c.server_high : c.requests[i + 1].ack_start;
            r.response_len = answer_end > p.ack_start ? answer_end - p.ack_start : 0;
            r.think_ns = p.think_ns;
            if (r.response_len > 0) {
                status_of(c, p.ack_start, r);
            }
            rec.requests.push_back(r);
        }
        s.request_count = static_cast<uint32_t>(c.requests.size());
        rec.stats.requests += s.request_count;
        rec.stats.client_bytes += s.stream_len;
        rec.stats.missing_bytes += s.missing_bytes;
        if (!s.has_syn) {
            ++rec.stats.mid_session;
        }
        ++rec.stats.sessions;
        rec.sessions.push_back(s);
        // Release the connection's buffers now (the map entry is erased by the caller).
        std::vector<uint8_t>().swap(c.data);
        std::vector<uint8_t>().swap(c.head_bytes);
    }
};

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

SessionBuilder::SessionBuilder(BuilderOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->opt = std::move(options);
}

SessionBuilder::~SessionBuilder() = default;

void SessionBuilder::add_frame(uint32_t link_type, uint64_t ts_ns, std::span<const uint8_t> frame) {
    ++impl_->rec.stats.records;
    const net::DecodeResult r = net::decode(link_type, frame);
    if (!r.ok()) {
        impl_->rec.stats.skipped.count(r.reason());
        return;
    }
    impl_->add(r.packet(), frame, ts_ns);
}

void SessionBuilder::add_packet(const net::PacketView& view, std::span<const uint8_t> frame,
                                uint64_t ts_ns) {
    impl_->add(view, frame, ts_ns);
}

Recording SessionBuilder::finish() {
    // Complete in order of first packet so equal start times keep capture order.
    std::vector<std::pair<uint64_t, Connection*>> rest;
    rest.reserve(impl_->open.size());
    for (auto& [key, c] : impl_->open) {
        rest.emplace_back(c.first_ts, &c);
    }
    std::sort(rest.begin(), rest.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [ts, c] : rest) {
        impl_->complete(*c);
    }
    impl_->open.clear();
    Recording out = std::move(impl_->rec);
    std::stable_sort(
        out.sessions.begin(), out.sessions.end(),
        [](const RecordedSession& a, const RecordedSession& b) { return a.start_ns < b.start_ns; });
    impl_->rec = Recording{};
    return out;
}

const BuildStats& SessionBuilder::stats() const { return impl_->rec.stats; }

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

uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

}  // namespace tcpr::replay
