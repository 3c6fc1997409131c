#include "replayer/sessions/conversation.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "common/net/tcp_seq.h"

namespace tcpr::replay {
namespace {

constexpr size_t kHeadBytes = 64;
constexpr uint32_t kTsoThreshold = 1460;    // a client segment beyond: TSO/GRO capture
constexpr uint64_t kTrimBytes = 64 * 1024;  // release acknowledged bytes in chunks this big
// A segment this far before what a connection has seen belongs to another connection on the
// same tuple (its SYN was lost by the capture), not to this one.
constexpr int64_t kMaxJump = 16 << 20;

uint64_t since(uint64_t ts, uint64_t from) { return ts > from ? ts - from : 0; }

}  // namespace

Conversation::Conversation(const net::Endpoint& client, const net::Endpoint& server, uint64_t ts_ns,
                           bool awaiting_boundary, uint64_t capture_start_ns)
    : client_(client),
      server_(server),
      first_ts_(ts_ns),
      awaiting_boundary_(awaiting_boundary),
      boundary_(capture_start_ns) {}

// ---- Handshake and boundary ---------------------------------------------------------------

void Conversation::client_syn(const net::PacketView& v, std::span<const uint8_t> frame,
                              uint64_t ts_ns) {
    if (syn_seen_) {
        return;  // retransmitted
    }
    syn_seen_ = true;
    syn_seq_ = v.seq;
    syn_ts_ = ts_ns;
    client_base_ = v.seq + 1;
    client_base_set_ = true;
    parse_syn_options(v, frame, mss_, wscale_);
}

void Conversation::server_synack(const net::PacketView& v, std::span<const uint8_t> frame) {
    if (synack_seen_ || !v.ack_flag()) {
        return;
    }
    synack_seen_ = true;
    server_base_ = v.seq + 1;
    server_base_set_ = true;
    uint16_t mss = 0;
    parse_syn_options(v, frame, mss, srv_wscale_);
    if (!client_base_set_) {
        // The connection is just being set up (its SYN was not captured): its first request
        // is whole.
        client_base_ = v.ack;
        client_base_set_ = true;
    }
}

bool Conversation::at_boundary(const RequestPolicy& policy, const net::PacketView& v,
                               std::span<const uint8_t> frame, uint64_t ts_ns) const {
    return v.payload_len > 0 && boundary_.at_boundary(policy, v, frame, ts_ns);
}

Conversation::Step Conversation::skip_before_boundary(const net::PacketView& v, bool from_client,
                                                      uint64_t ts_ns) {
    Step s;
    if (from_client) {
        if (v.payload_len > 0) {
            s.skipped_bytes = v.payload_len;
            pre_client_data_ = true;
            boundary_.client_skipped(ts_ns);
        }
        if (close_ == CloseKind::None && (v.fin() || v.rst())) {
            close_ = v.fin() ? CloseKind::Fin : CloseKind::Rst;
            close_ts_ = ts_ns;
            s.closed = true;
        }
        return s;
    }
    // An answer to a request the capture does not hold (or not whole).
    s.skipped_answer = v.payload_len > 0 && boundary_.server_data(v.seq, v.payload_len);
    server_fin_ = server_fin_ || v.fin();
    if (v.rst()) {
        server_rst_ = true;
        s.server_reset = true;
    }
    return s;
}

void Conversation::begin_at(const net::PacketView& v, uint64_t ts_ns) {
    awaiting_boundary_ = false;
    first_ts_ = ts_ns;
    client_base_ = v.seq;
    client_base_set_ = true;
    server_base_set_ = v.ack_flag();
    server_base_ = v.ack;
}

// ---- Client data ----------------------------------------------------------------------------

Conversation::Step Conversation::client_segment(const RequestPolicy& policy,
                                                const net::PacketView& v,
                                                std::span<const uint8_t> frame, uint64_t ts_ns,
                                                uint64_t max_bytes) {
    Step s;
    if (v.syn()) {
        return s;  // a retransmitted SYN
    }
    if (!client_base_set_) {
        client_base_ = v.seq;
        client_base_set_ = true;
    }
    if (v.ack_flag() && !server_base_set_) {
        server_base_ = v.ack;
        server_base_set_ = true;
    }
    if (!handshake_done_ && (syn_seen_ || synack_seen_) && v.ack_flag()) {
        handshake_done_ = true;
        handshake_ts_ = ts_ns;
    }
    if (v.payload_len > 0) {
        if (v.payload_len > kTsoThreshold) {
            ++oversized_;
        }
        int64_t off = net::seq_diff(v.seq, client_base_);
        uint32_t skip = 0;  // bytes before the stream start (an old retransmission)
        if (off < 0) {
            skip = static_cast<uint32_t>(std::min<int64_t>(-off, v.payload_len));
            off = 0;
        }
        const uint32_t begin = static_cast<uint32_t>(off);
        const uint64_t end64 = uint64_t{begin} + (v.payload_len - skip);
        if (skip < v.payload_len) {
            // (end64 - data_base_: data_base_ + max_bytes would wrap for "no limit")
            if (end64 >= kStreamLimit ||
                (!dropped_ && end64 > data_base_ && end64 - data_base_ > max_bytes)) {
                // Over the limit: the stream ends where it is, the copies with a RST.
                close_ = CloseKind::Rst;
                close_ts_ = ts_ns;
                high_ = avail_;
                ooo_.clear();
                data_.resize(avail_ - data_base_);
                s.cut = true;
                return s;
            }
            const auto end = static_cast<uint32_t>(end64);
            if (end > high_) {
                cut_requests(policy, v, ts_ns);
                reqs_.back().sent_ts = ts_ns;
                any_client_data_ = true;
                last_client_data_ts_ = ts_ns;
                high_ = end;
                s.bytes = true;
            }
            const uint32_t was = avail_;
            store(v, frame, begin, end, skip);
            s.bytes = s.bytes || avail_ != was;
        }
    }
    if (close_ == CloseKind::None && (v.fin() || v.rst())) {
        client_close(v, ts_ns, s);
    }
    return s;
}

// New client bytes: do they begin a new request (RequestPolicy)?
void Conversation::cut_requests(const RequestPolicy& policy, const net::PacketView& v,
                                uint64_t ts_ns) {
    uint32_t ack_rel = cur_ack_;
    if (v.ack_flag() && server_base_set_) {
        const int32_t d = net::seq_diff(v.ack, server_base_);
        ack_rel = d > 0 ? static_cast<uint32_t>(d) : 0;
    }
    const uint64_t last = last_activity();
    if (!any_client_data_) {
        if (ack_rel > 0 && policy.split_on_ack) {
            // The server spoke first and the client read it: an empty request whose answer is
            // that greeting, so replay waits for the target's greeting.
            add_request(0, 0, 0);
            add_request(0, ack_rel, since(ts_ns, last));
        } else {
            add_request(0, ack_rel, since(ts_ns, handshake_done_ ? handshake_ts_ : first_ts_));
        }
        cur_ack_ = ack_rel;
        return;
    }
    const bool acked_more = policy.split_on_ack && ack_rel > cur_ack_;
    const bool paused = policy.pause_ns > 0 && ts_ns >= last_client_data_ts_ + policy.pause_ns;
    if (acked_more || paused) {
        add_request(high_, ack_rel, since(ts_ns, last));
        cur_ack_ = ack_rel;
    }
}

void Conversation::add_request(uint32_t at, uint32_t ack_start, uint64_t think_ns) {
    AssembledRequest r;
    r.digest = AnswerDigest(rules_);
    r.begin = at;
    r.ack_start = ack_start;
    r.think_ns = think_ns;
    if (ack_start < server_high_) {
        r.digest.lose();  // its first bytes went by before it existed
        // The answer began before the request did (pipelining, a greeting).
        std::string_view head;
        for (size_t i = 0; i < heads_used_; ++i) {
            const Head& h = heads_[i];
            if (h.rel <= ack_start && ack_start < h.rel + h.len) {
                head = std::string_view(h.bytes.data() + (ack_start - h.rel),
                                        h.len - (ack_start - h.rel));
            }
        }
        resolve(r, head);
    }
    reqs_.push_back(std::move(r));
    if (dropped_) {
        // No copy needs them: only the last request is kept (it cuts the next), so a
        // connection copied no more (live: for days) does not hold every request it makes.
        while (reqs_.size() > 1) {
            reqs_.pop_front();
            ++req_base_;
        }
    }
}

// Keeps the captured bytes (snaplen may have cut some: they stay a hole, later zeros).
void Conversation::store(const net::PacketView& v, std::span<const uint8_t> frame, uint32_t begin,
                         uint32_t end, uint32_t skip) {
    if (dropped_) {
        data_base_ = high_;  // no copy left to send them to
        avail_ = std::max(avail_, high_);
        return;
    }
    const uint32_t captured = v.captured_payload > skip ? v.captured_payload - skip : 0;
    const uint32_t b = std::max(begin, std::max(avail_, data_base_));
    const uint32_t e = std::min(end, begin + captured);
    if (end > data_base_ + data_.size()) {
        data_.resize(end - data_base_);
    }
    if (e <= b) {
        return;
    }
    std::memcpy(data_.data() + (b - data_base_),
                frame.data() + v.payload_offset + skip + (b - begin), e - b);
    if (b <= avail_) {
        avail_ = e;
    } else {
        // Keep the ranges sorted and disjoint (retransmissions overlap).
        ooo_.emplace_back(b, e);
        std::sort(ooo_.begin(), ooo_.end());
        size_t w = 0;
        for (size_t r = 1; r < ooo_.size(); ++r) {
            if (ooo_[r].first <= ooo_[w].second) {
                ooo_[w].second = std::max(ooo_[w].second, ooo_[r].second);
            } else {
                ooo_[++w] = ooo_[r];
            }
        }
        ooo_.resize(w + 1);
    }
    // Ranges that now touch the published prefix join it.
    size_t n = 0;
    for (; n < ooo_.size() && ooo_[n].first <= avail_; ++n) {
        avail_ = std::max(avail_, ooo_[n].second);
    }
    ooo_.erase(ooo_.begin(), ooo_.begin() + static_cast<std::ptrdiff_t>(n));
}

// Bytes up to `to` are given up as lost by the capture: they are published as zeros. Returns
// how many were missing.
uint64_t Conversation::advance(uint32_t to) {
    if (to <= avail_) {
        return 0;
    }
    uint64_t present = 0;
    uint32_t reach = to;
    size_t n = 0;
    for (; n < ooo_.size() && ooo_[n].first < to; ++n) {
        present += std::min(ooo_[n].second, to) - ooo_[n].first;
        reach = std::max(reach, ooo_[n].second);
    }
    const uint64_t lost = (to - avail_) - present;
    missing_ += lost;
    if (lost > 0 && first_lost_ == kNoLoss) {
        first_lost_ = avail_;  // the first gap begins where the stream was whole
    }
    avail_ = reach;
    ooo_.erase(ooo_.begin(), ooo_.begin() + static_cast<std::ptrdiff_t>(n));
    size_t m = 0;
    for (; m < ooo_.size() && ooo_[m].first <= avail_; ++m) {
        avail_ = std::max(avail_, ooo_[m].second);
    }
    ooo_.erase(ooo_.begin(), ooo_.begin() + static_cast<std::ptrdiff_t>(m));
    if (!dropped_ && avail_ > data_base_ + data_.size()) {
        data_.resize(avail_ - data_base_);
    }
    return lost;
}

void Conversation::client_close(const net::PacketView& v, uint64_t ts_ns, Step& s) {
    close_ = v.fin() ? CloseKind::Fin : CloseKind::Rst;
    close_ts_ = ts_ns;
    server_closed_first_ = server_fin_;
    s.closed = true;
    if (v.fin()) {
        const int64_t fin_rel = net::seq_diff(v.seq + v.payload_len, client_base_);
        if (fin_rel > static_cast<int64_t>(high_) && fin_rel < kStreamLimit) {
            high_ = static_cast<uint32_t>(fin_rel);  // bytes before the FIN we did not see
        }
    }
}

// ---- Server data ----------------------------------------------------------------------------

Conversation::Step Conversation::server_segment(const net::PacketView& v,
                                                std::span<const uint8_t> frame, uint64_t ts_ns,
                                                bool settle_on_ack) {
    Step s;
    if (v.syn()) {
        server_synack(v, frame);
        return s;
    }
    if (!server_base_set_) {
        server_base_ = v.seq;
        server_base_set_ = true;
    }
    if (settle_on_ack && v.ack_flag() && client_base_set_) {
        // The server has every client byte below its ack: a hole there is a capture loss.
        const int64_t rel = net::seq_diff(v.ack, client_base_);
        if (rel > static_cast<int64_t>(avail_)) {
            s.missing = advance(std::min<uint32_t>(
                static_cast<uint32_t>(std::min<int64_t>(rel, kStreamLimit)), high_));
            s.bytes = s.missing > 0;
        }
    }
    if (v.payload_len > 0) {
        const int32_t d = net::seq_diff(v.seq, server_base_);
        const uint32_t rel = d > 0 ? static_cast<uint32_t>(d) : 0;
        const uint32_t skip = d < 0 ? static_cast<uint32_t>(-d) : 0;
        if (skip < v.payload_len && rel + (v.payload_len - skip) > server_high_) {
            const uint32_t end = rel + (v.payload_len - skip);
            const uint32_t was = server_high_;
            server_high_ = end;
            last_server_data_ts_ = ts_ns;
            s.answer = true;
            time_answer(rel, ts_ns);
            const uint32_t captured = v.captured_payload > skip ? v.captured_payload - skip : 0;
            const char* p = reinterpret_cast<const char*>(frame.data() + v.payload_offset + skip);
            if (digest_) {
                digest_answer(was, rel, frame.data() + v.payload_offset + skip, captured, end);
            }
            if (captured > 0) {
                Head& h = heads_[heads_next_];
                heads_next_ = static_cast<uint8_t>((heads_next_ + 1) % kHeadsKept);
                heads_used_ = static_cast<uint8_t>(std::min<size_t>(heads_used_ + 1, kHeadsKept));
                h.rel = rel;
                h.len = static_cast<uint8_t>(std::min<size_t>(captured, kHeadBytes));
                std::memcpy(h.bytes.data(), p, h.len);
            }
            // The first bytes of answers that begin in this segment.
            for (size_t i = reqs_.size(); i-- > 0;) {
                AssembledRequest& r = reqs_[i];
                if (r.status_known) {
                    break;
                }
                if (r.ack_start >= end) {
                    continue;  // a later answer
                }
                s.status = true;
                if (r.ack_start < rel || r.ack_start - rel >= captured) {
                    resolve(r, {});  // its first bytes were not captured
                    continue;
                }
                const uint32_t at = r.ack_start - rel;
                resolve(r, std::string_view(p + at, std::min<size_t>(captured - at, kHeadBytes)));
            }
        }
    }
    server_fin_ = server_fin_ || v.fin();
    if (v.rst()) {
        server_rst_ = true;
        s.server_reset = true;
    }
    return s;
}

// New server bytes from stream offset `rel` on, captured at ts_ns: the answer of the latest
// request that began before them.
void Conversation::time_answer(uint32_t rel, uint64_t ts_ns) {
    for (size_t i = reqs_.size(); i-- > 0;) {
        AssembledRequest& r = reqs_[i];
        if (r.ack_start <= rel) {
            if (r.answer_first_ts == 0) {
                r.answer_first_ts = ts_ns;
            }
            r.answer_last_ts = ts_ns;
            return;
        }
    }
}

// Server bytes [rel, end) arrived (`captured` of them in `bytes`), the stream being whole up to
// `from` before: each answer's digest takes its new bytes; a gap or a cut segment loses the
// digests it touches.
void Conversation::digest_answer(uint32_t from, uint32_t rel, const uint8_t* bytes,
                                 uint32_t captured, uint32_t end) {
    // Answers are in stream order: from the latest back to the first one already whole.
    for (size_t i = reqs_.size(); i-- > 0;) {
        AssembledRequest& r = reqs_[i];
        const uint32_t a_begin = r.ack_start;
        const uint32_t a_end = i + 1 < reqs_.size() ? reqs_[i + 1].ack_start : UINT32_MAX;
        if (a_end <= from) {
            break;
        }
        if (a_begin >= end || a_end <= a_begin) {
            continue;  // not this answer's bytes (or an answer of no bytes)
        }
        if (rel > std::max(from, a_begin)) {
            r.digest.lose();  // bytes of this answer before `rel` were not captured
        }
        const uint32_t b = std::max({from, a_begin, rel});
        const uint32_t e = std::min(end, a_end);
        const uint32_t have = std::min(e, rel + captured);
        if (have > b) {
            r.digest.add(std::span<const uint8_t>(bytes + (b - rel), have - b));
        }
        if (have < e) {
            r.digest.lose();  // the capture cut the segment (snaplen)
        }
    }
}

void Conversation::resolve(AssembledRequest& r, std::string_view head) {
    r.status_known = true;
    r.head_len = static_cast<uint8_t>(std::min(head.size(), r.head_bytes.size()));
    std::memcpy(r.head_bytes.data(), head.data(), r.head_len);
    r.status = first_line(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(head.data()), head.size()));
}

Conversation::Step Conversation::finish() {
    Step s;
    if (!awaiting_boundary_) {
        s.missing = advance(high_);
        s.bytes = s.missing > 0;
    }
    for (AssembledRequest& r : reqs_) {
        if (!r.status_known) {
            resolve(r, {});
            s.status = true;
        }
    }
    return s;
}

// ---- Plausibility -------------------------------------------------------------------------

// A sender never goes beyond its peer's acknowledgment plus window, nor acknowledges more than
// was sent to it (give or take what the capture lost, bounded the same way). A segment that
// does is from another connection on the same tuple: Linux gives a reused tuple an ISN only
// its clock ahead of the last one (RFC 6528), a few MB per second, so a plain distance does
// not tell them apart.
bool Conversation::plausible(const net::PacketView& v, bool from_client) const {
    if (v.syn()) {
        return true;
    }
    constexpr int64_t kSlack = 1 << 20;  // window updates the capture lost, autotuning
    constexpr int64_t kUnknownWindow = int64_t{1} << 30;
    const bool seq_set = from_client ? client_base_set_ : server_base_set_;
    const uint32_t seq_base = from_client ? client_base_ : server_base_;
    const uint32_t seq_high = from_client ? high_ : server_high_;
    const bool peer_wnd_set = from_client ? srv_wnd_set_ : cli_wnd_set_;
    const int64_t peer_wnd = peer_wnd_set ? (from_client ? srv_wnd_ : cli_wnd_) : kUnknownWindow;
    const int64_t peer_acked = from_client ? srv_acked_ : cli_acked_;
    if (seq_set) {
        const int64_t off = net::seq_diff(v.seq, seq_base);
        const int64_t end = off + v.payload_len + (v.fin() ? 1 : 0);
        const int64_t limit = std::max<int64_t>(seq_high, peer_acked + peer_wnd) + kSlack;
        if (off <= -kMaxJump || end > limit) {
            return false;
        }
    }
    const bool ack_set = from_client ? server_base_set_ : client_base_set_;
    if (ack_set && v.ack_flag()) {
        const uint32_t ack_base = from_client ? server_base_ : client_base_;
        const int64_t ack_high = from_client ? server_high_ : high_;
        const bool own_wnd_set = from_client ? cli_wnd_set_ : srv_wnd_set_;
        const int64_t own_wnd = own_wnd_set ? (from_client ? cli_wnd_ : srv_wnd_) : kUnknownWindow;
        const int64_t own_acked = from_client ? cli_acked_ : srv_acked_;
        const int64_t a = net::seq_diff(v.ack, ack_base);
        if (a <= -kMaxJump || a > std::max<int64_t>(ack_high + 1, own_acked + own_wnd) + kSlack) {
            return false;
        }
    }
    return true;
}

// Window scaling is in force when both SYNs carried the option; unknown (a connection open
// before the capture) counts as the largest shift.
void Conversation::note_window(const net::PacketView& v, bool from_client) {
    uint32_t shift = 14;
    if (v.syn()) {
        shift = 0;  // a SYN's window is never scaled
    } else if (syn_seen_ && synack_seen_) {
        const bool scaled = wscale_ != 0xff && srv_wscale_ != 0xff;
        shift = scaled ? std::min<uint8_t>(from_client ? wscale_ : srv_wscale_, 14) : 0;
    }
    const uint32_t wnd = static_cast<uint32_t>(v.window) << shift;
    if (from_client) {
        cli_wnd_ = wnd;
        cli_wnd_set_ = true;
        if (v.ack_flag() && server_base_set_) {
            const int32_t a = net::seq_diff(v.ack, server_base_);
            cli_acked_ = std::max<uint32_t>(cli_acked_, a > 0 ? static_cast<uint32_t>(a) : 0);
        }
    } else {
        srv_wnd_ = wnd;
        srv_wnd_set_ = true;
        if (v.ack_flag() && client_base_set_) {
            const int32_t a = net::seq_diff(v.ack, client_base_);
            srv_acked_ = std::max<uint32_t>(srv_acked_, a > 0 ? static_cast<uint32_t>(a) : 0);
        }
    }
}

// ---- Memory ---------------------------------------------------------------------------------

void Conversation::release_bytes(uint32_t offset) {
    const uint32_t upto = std::min(offset, avail_);
    if (upto <= data_base_) {
        return;
    }
    const uint32_t n = upto - data_base_;
    if (n >= kTrimBytes || n * 2 >= data_.size()) {
        data_.erase(data_.begin(), data_.begin() + n);
        data_base_ = upto;
        if (data_.capacity() > 4 * kTrimBytes && data_.capacity() > 4 * data_.size()) {
            data_.shrink_to_fit();
        }
    }
}

uint32_t Conversation::release_requests(uint32_t index, uint32_t published) {
    uint32_t n = 0;
    while (req_base_ < index && reqs_.size() > 1 && req_base_ + 1 < published) {
        reqs_.pop_front();
        ++req_base_;
        ++n;
    }
    return n;
}

void Conversation::drop_bytes() {
    dropped_ = true;
    std::vector<uint8_t>().swap(data_);
    data_base_ = high_;
    ooo_.clear();
    // Keep the last request: later bytes still cut requests (for the counts).
    while (reqs_.size() > 1) {
        reqs_.pop_front();
        ++req_base_;
    }
}

// ---- What it holds ------------------------------------------------------------------------

std::span<const uint8_t> Conversation::bytes(uint32_t offset, uint32_t length) const {
    if (offset >= data_base_ && uint64_t{offset} + length <= data_base_ + data_.size()) {
        return {data_.data() + (offset - data_base_), length};
    }
    return {};
}

uint32_t Conversation::response_len(uint32_t index) const {
    if (index < req_base_ || index - req_base_ >= reqs_.size()) {
        return 0;
    }
    const size_t i = index - req_base_;
    const uint32_t start = reqs_[i].ack_start;
    const uint32_t end = i + 1 < reqs_.size() ? reqs_[i + 1].ack_start : server_high_;
    return end > start ? end - start : 0;
}

uint32_t Conversation::request_end(uint32_t index) const {
    if (index < req_base_ || index - req_base_ >= reqs_.size()) {
        return 0;
    }
    const size_t i = index - req_base_;
    const uint32_t end = std::min(i + 1 < reqs_.size() ? reqs_[i + 1].begin : high_, avail_);
    return std::max(end, reqs_[i].begin);
}

RecordedRequest Conversation::recorded(uint32_t index) const {
    RecordedRequest r;
    if (index < req_base_ || index - req_base_ >= reqs_.size()) {
        return r;  // released (no copy needs it any more)
    }
    const size_t i = index - req_base_;
    const AssembledRequest& q = reqs_[i];
    const bool has_next = i + 1 < reqs_.size();
    const uint32_t end = std::min(has_next ? reqs_[i + 1].begin : high_, avail_);
    r.begin = q.begin;
    r.length = end > q.begin ? end - q.begin : 0;
    const uint32_t answer_end = has_next ? reqs_[i + 1].ack_start : server_high_;
    r.response_len = answer_end > q.ack_start ? answer_end - q.ack_start : 0;
    r.think_ns = q.think_ns;
    if (q.answer_first_ts != 0 && q.digest.known() &&
        (has_next || close_ != CloseKind::None || server_fin_)) {
        r.body_digest = q.digest.value();
    }
    if (q.digest.known() && q.digest.head_complete()) {
        r.head_digest = q.digest.head_digest();
    }
    if (q.sent_ts != 0 && q.answer_first_ts >= q.sent_ts) {
        r.answer_first_us = latency_us(q.answer_first_ts - q.sent_ts);
        r.answer_last_us = latency_us(q.answer_last_ts - q.sent_ts);
    }
    return r;
}

uint64_t Conversation::rtt_ns() const {
    return syn_seen_ && handshake_done_ ? since(handshake_ts_, syn_ts_) : 0;
}

uint64_t Conversation::close_think_ns() const {
    return close_ == CloseKind::None ? 0 : since(close_ts_, last_activity());
}

// The last payload either way; before any, the end of the handshake (or the stream's start).
uint64_t Conversation::last_activity() const {
    const uint64_t last_data = std::max(last_client_data_ts_, last_server_data_ts_);
    if (last_data != 0) {
        return last_data;
    }
    return handshake_done_ ? handshake_ts_ : first_ts_;
}

RecordedSession session_facts(const Conversation& c) {
    RecordedSession s;
    s.client = c.client();
    s.server = c.server();
    s.start_ns = c.first_ts();
    s.end_ns = c.first_ts();
    s.has_syn = c.syn_seen();
    s.client_isn = c.client_isn();
    s.mss = c.mss();
    s.window_scale = c.window_scale();
    s.rtt_ns = c.rtt_ns();
    s.close = c.close();
    s.server_closed_first = c.server_closed_first();
    s.close_think_ns = c.close_think_ns();
    return s;
}

}  // namespace tcpr::replay
