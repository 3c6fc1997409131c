#include "replayer/sessions/live_sessions.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "common/net/tcp_seq.h"

namespace tcpr::replay {
namespace {

constexpr size_t kHeadBytes = 64;
constexpr size_t kHeadsKept = 4;                 // recent answer heads per connection
constexpr size_t kMaxPendingPerRequest = 64;     // target lines waiting for the online one
constexpr uint32_t kStreamLimit = 0xF000'0000u;  // client stream offsets stay below (uint32)
constexpr uint64_t kTrimBytes = 64 * 1024;       // drop acknowledged bytes in chunks this big
// A segment this far before what a connection has seen belongs to another connection on the
// same tuple (its SYN was lost by the capture), not to this one.
constexpr int64_t kMaxJump = 16 << 20;

enum class State : uint8_t { Boundary, Copying, Ignored };

}  // namespace

struct LiveSessions::Request {
    struct Pending {
        net::Endpoint client;
        std::string got;
        bool cut = false;
    };
    uint32_t begin = 0;      // client stream offset of its first byte
    uint32_t ack_start = 0;  // server stream offset the client had read when it began
    bool status_known = false;
    std::string status;            // the online answer's first line ("" = not captured)
    std::vector<Pending> pending;  // target lines waiting for it
};

struct LiveSessions::Conn {
    struct Head {
        uint32_t rel = 0;  // server stream offset of its first byte
        uint8_t len = 0;
        std::array<uint8_t, kHeadBytes> bytes{};
    };

    State state = State::Boundary;
    net::FlowKey key;
    net::Endpoint client, server;
    uint64_t first_ts = 0, syn_ts = 0;  // capture clock
    uint64_t last_mono = 0, ended_mono = 0;
    bool syn_seen = false, synack_seen = false, handshake_done = false;
    bool client_base_set = false, server_base_set = false;
    uint32_t syn_seq = 0, client_base = 0, server_base = 0;
    uint16_t mss = 0;
    uint8_t wscale = 0xff;      // the client's SYN option (0xff: none)
    uint8_t srv_wscale = 0xff;  // the server's SYN-ACK option
    // What each side last advertised and acknowledged (offsets in the other's stream): a
    // sender cannot go beyond its peer's acknowledgment plus window (plausible()).
    uint32_t cli_wnd = 0, srv_wnd = 0, cli_acked = 0, srv_acked = 0;
    bool cli_wnd_set = false, srv_wnd_set = false;

    // Waiting for a request boundary (connection open before the capture).
    BoundaryWatch boundary;

    // The client stream: data[i] is stream offset data_base + i.
    std::vector<uint8_t> data;
    uint32_t data_base = 0;
    uint32_t avail = 0;  // every byte below is present (or given up as lost): published
    uint32_t high = 0;   // end of the highest byte seen
    std::vector<std::pair<uint32_t, uint32_t>> ooo;  // present ranges beyond avail, sorted

    // Requests: reqs[i] is request req_base + i.
    std::deque<Request> reqs;
    uint32_t req_base = 0;
    uint32_t published = 0;  // requests published (absolute count)
    uint32_t cur_ack = 0;
    uint64_t last_client_data_ts = 0, last_server_data_ts = 0;
    bool any_client_data = false;

    // The server stream.
    uint32_t server_high = 0;
    std::deque<Head> heads;

    CloseKind close = CloseKind::None;
    bool closing = false;  // the client's FIN was seen: ends once every byte before it is in
    bool server_fin = false, server_closed_first = false;
    bool ended = false;    // the live connection is over (or given up): no more input
    bool dropped = false;  // no copy left: bytes are no longer kept
    bool is_changed = false;

    uint32_t live_copies = 0, pending_copies = 0, ended_copies = 0;

    uint32_t stream_end() const { return high; }
};

LiveSessions::LiveSessions(LiveConfig config) : cfg_(std::move(config)) {
    cfg_.copies = std::max<uint32_t>(cfg_.copies, 1);
}

LiveSessions::~LiveSessions() = default;

LiveSessions::Conn* LiveSessions::find(uint32_t id) {
    return id < conns_.size() ? conns_[id].get() : nullptr;
}

const LiveSessions::Conn& LiveSessions::conn(uint32_t id) const { return *conns_.at(id); }

bool LiveSessions::is_open(uint32_t session) const {
    return session < conns_.size() && conns_[session] && !conns_[session]->ended;
}

uint32_t LiveSessions::new_conn() {
    uint32_t id;
    if (!free_ids_.empty()) {
        id = free_ids_.back();
        free_ids_.pop_back();
    } else {
        id = static_cast<uint32_t>(conns_.size());
        conns_.emplace_back();
        rec_.sessions.emplace_back();
    }
    conns_[id] = std::make_unique<Conn>();
    rec_.sessions[id] = RecordedSession{};
    return id;
}

void LiveSessions::free_conn(uint32_t id) {
    Conn* c = find(id);
    if (c == nullptr) {
        return;
    }
    auto it = flows_.find(c->key);
    if (it != flows_.end() && it->second == id) {
        flows_.erase(it);
    }
    if (c->state == State::Boundary) {
        --stats_.mid_session_waiting;
    }
    if (c->state == State::Copying) {
        --copying_;
    }
    buffered_ -= c->data.size();
    conns_[id].reset();
    rec_.sessions[id] = RecordedSession{};
    free_ids_.push_back(id);
}

bool LiveSessions::select(const net::Endpoint& client, const net::Endpoint& server, bool count) {
    if (cfg_.ip_version && client.addr.version != *cfg_.ip_version) {
        stats_.other_family += count ? 1 : 0;
        return false;
    }
    bool ok = true;
    if (!cfg_.client_nets.empty()) {
        ok = std::any_of(cfg_.client_nets.begin(), cfg_.client_nets.end(),
                         [&](const Cidr& n) { return n.contains(client.addr); });
    }
    if (ok && cfg_.sample_percent < 100.0) {
        // Per session, from the tuple alone: every packet of a connection gets the same answer.
        const uint64_t h = mix64(net::FlowKeyHash{}(net::FlowKey::of(client, server)) ^
                                 mix64(cfg_.sample_seed + 0x5bd1e995));
        ok = static_cast<double>(h % 1'000'000) < cfg_.sample_percent * 10'000.0;
    }
    if (!ok) {
        stats_.not_selected += count ? 1 : 0;
    }
    return ok;
}

bool LiveSessions::admit(Conn& c) {
    if ((copying_ + 1) * cfg_.copies > cfg_.max_active) {
        ++stats_.dropped_cap;
        c.state = State::Ignored;
        return false;
    }
    if (buffered_ >= cfg_.max_buffer_bytes) {
        ++stats_.dropped_buffer;
        c.state = State::Ignored;
        return false;
    }
    return true;
}

void LiveSessions::begin_copying(uint32_t id, Conn& c) {
    if (c.state == State::Boundary) {
        --stats_.mid_session_waiting;
    }
    c.state = State::Copying;
    c.pending_copies = cfg_.copies;
    ++copying_;
    stats_.peak_sessions = std::max<uint64_t>(stats_.peak_sessions, copying_);
    ++stats_.sessions;
    if (!c.syn_seen) {
        ++stats_.mid_session;
    }
    RecordedSession& s = rec_.sessions[id];
    s = RecordedSession{};
    s.client = c.client;
    s.server = c.server;
    s.start_ns = c.first_ts;
    s.end_ns = c.first_ts;
    s.has_syn = c.syn_seen;
    s.client_isn = c.syn_seen ? c.syn_seq : c.client_base - 1;
    s.mss = c.mss;
    s.window_scale = c.wscale;
    s.open = true;
    new_.push_back(id);
}

void LiveSessions::changed(uint32_t id, Conn& c) {
    if (!c.is_changed) {
        c.is_changed = true;
        changed_.push_back(id);
    }
}

void LiveSessions::add_frame(uint32_t link_type, uint64_t ts_ns, std::span<const uint8_t> frame,
                             uint64_t now_ns) {
    ++stats_.frames;
    const net::DecodeResult r = net::decode(link_type, frame);
    if (!r.ok()) {
        stats_.skipped.count(r.reason());
        return;
    }
    add_packet(r.packet(), frame, ts_ns, now_ns);
}

void LiveSessions::add_packet(const net::PacketView& v, std::span<const uint8_t> frame, uint64_t ts,
                              uint64_t now_ns) {
    ++stats_.tcp_packets;
    if (!have_first_) {
        have_first_ = true;
        first_ts_ = cfg_.capture_start_ns != 0 ? std::min(cfg_.capture_start_ns, ts) : ts;
    }
    const net::Endpoint src{v.src, v.sport}, dst{v.dst, v.dport};
    const bool to_server = v.dport == cfg_.server_port;
    const bool from_server = v.sport == cfg_.server_port;
    if (!to_server && !from_server) {
        ++stats_.other_port;
        return;
    }
    const net::FlowKey key = net::FlowKey::of(src, dst);
    const bool client_syn = v.syn() && !v.ack_flag();
    auto it = flows_.find(key);
    if (it != flows_.end() && client_syn) {
        Conn& old = *conns_[it->second];
        const bool retransmitted = old.syn_seen && old.syn_seq == v.seq;
        if (!retransmitted && src == old.client) {
            // A new connection on a reused tuple: the old one is over.
            const uint32_t old_id = it->second;
            flows_.erase(it);
            it = flows_.end();
            if (old.state == State::Copying) {
                end_live(old_id, old, now_ns);
            } else {
                if (old.state == State::Boundary) {
                    ++stats_.mid_session_never;
                }
                free_conn(old_id);
            }
        }
    }
    if (it == flows_.end()) {
        if (v.rst() || (v.fin() && v.payload_len == 0)) {
            return;  // the end of a connection we never tracked
        }
        net::Endpoint client, server;
        if (client_syn) {
            client = src;
            server = dst;
        } else if (v.syn()) {
            client = dst;  // a SYN-ACK whose SYN we missed
            server = src;
        } else if (to_server && !from_server) {
            client = src;
            server = dst;
        } else if (from_server && !to_server) {
            client = dst;
            server = src;
        } else {
            return;  // both ports are the online port and no SYN tells who is the client
        }
        if (client_syn) {
            ++stats_.connections;
        }
        if (!select(client, server, client_syn)) {
            return;
        }
        if (flows_.size() >= cfg_.max_tracked) {
            stats_.dropped_tracking += client_syn ? 1 : 0;
            return;
        }
        const uint32_t id = new_conn();
        Conn& c = *conns_[id];
        c.key = key;
        c.client = client;
        c.server = server;
        c.first_ts = ts;
        c.last_mono = now_ns;
        flows_.emplace(key, id);
        if (v.syn()) {
            if (client_syn) {
                c.syn_seen = true;
                c.syn_seq = v.seq;
                c.syn_ts = ts;
                c.client_base = v.seq + 1;
                c.client_base_set = true;
                parse_syn_options(v, frame, c.mss, c.wscale);
            } else {
                // The connection is just being set up: its first request is whole.
                c.client_base = v.ack;
                c.client_base_set = true;
            }
            c.state = State::Ignored;  // until admitted
            if (admit(c)) {
                begin_copying(id, c);
            }
        } else {
            c.state = State::Boundary;
            c.boundary = BoundaryWatch(first_ts_);
            ++stats_.mid_session_waiting;
        }
        it = flows_.find(key);
    }
    const uint32_t id = it->second;
    Conn& c = *conns_[id];
    c.last_mono = now_ns;
    const bool from_client = src == c.client;
    switch (c.state) {
        case State::Ignored:
            if ((v.fin() || v.rst()) && !c.ended) {
                c.ended = true;
                c.ended_mono = now_ns;
            }
            return;
        case State::Boundary:
            boundary_packet(id, c, v, frame, ts, from_client);
            return;
        case State::Copying:
            if (c.ended) {
                return;  // late packets of a connection that is over
            }
            if (!plausible(c, v, from_client)) {
                // A new connection on the tuple whose SYN the capture lost: this one is over,
                // the new one is followed as a connection open before the capture.
                ++stats_.implausible;
                end_live(id, c, now_ns);
                flows_.erase(c.key);
                add_packet(v, frame, ts, now_ns);
                --stats_.tcp_packets;
                return;
            }
            rec_.sessions[id].end_ns = ts;
            if (from_client) {
                client_packet(id, c, v, frame, ts);
            } else {
                server_packet(id, c, v, frame, ts);
            }
            note_window(c, v, from_client);
            if (!c.ended) {
                publish(id, c);
            }
            return;
    }
}

// A sender never goes beyond its peer's acknowledgment plus window, nor acknowledges more than
// was sent to it (give or take what the capture lost, bounded the same way). A segment that
// does is from another connection on the same tuple: Linux gives a reused tuple an ISN only
// its clock ahead of the last one (RFC 6528), a few MB per second, so a plain distance does
// not tell them apart.
bool LiveSessions::plausible(const Conn& c, const net::PacketView& v, bool from_client) const {
    if (v.syn()) {
        return true;
    }
    constexpr int64_t kSlack = 1 << 20;  // window updates the capture lost, autotuning
    constexpr int64_t kUnknownWindow = int64_t{1} << 30;
    const bool seq_set = from_client ? c.client_base_set : c.server_base_set;
    const uint32_t seq_base = from_client ? c.client_base : c.server_base;
    const uint32_t seq_high = from_client ? c.high : c.server_high;
    const bool peer_wnd_set = from_client ? c.srv_wnd_set : c.cli_wnd_set;
    const int64_t peer_wnd = peer_wnd_set ? (from_client ? c.srv_wnd : c.cli_wnd) : kUnknownWindow;
    const int64_t peer_acked = from_client ? c.srv_acked : c.cli_acked;
    if (seq_set) {
        const int64_t off = net::seq_diff(v.seq, seq_base);
        const int64_t end = off + v.payload_len + (v.fin() ? 1 : 0);
        const int64_t limit = std::max<int64_t>(seq_high, peer_acked + peer_wnd) + kSlack;
        if (off <= -kMaxJump || end > limit) {
            return false;
        }
    }
    const bool ack_set = from_client ? c.server_base_set : c.client_base_set;
    if (ack_set && v.ack_flag()) {
        const uint32_t ack_base = from_client ? c.server_base : c.client_base;
        const int64_t ack_high = from_client ? c.server_high : c.high;
        const bool own_wnd_set = from_client ? c.cli_wnd_set : c.srv_wnd_set;
        const int64_t own_wnd =
            own_wnd_set ? (from_client ? c.cli_wnd : c.srv_wnd) : kUnknownWindow;
        const int64_t own_acked = from_client ? c.cli_acked : c.srv_acked;
        const int64_t a = net::seq_diff(v.ack, ack_base);
        if (a <= -kMaxJump || a > std::max<int64_t>(ack_high + 1, own_acked + own_wnd) + kSlack) {
            return false;
        }
    }
    return true;
}

// Window scaling is in force when both SYNs carried the option; unknown (a connection open
// before the capture) counts as the largest shift.
// Called for every packet of a copied connection, SYNs included.
void LiveSessions::note_window(Conn& c, const net::PacketView& v, bool from_client) {
    uint32_t shift = 14;
    if (v.syn()) {
        shift = 0;  // a SYN's window is never scaled
    } else if (c.syn_seen && c.synack_seen) {
        const bool scaled = c.wscale != 0xff && c.srv_wscale != 0xff;
        shift = scaled ? std::min<uint8_t>(from_client ? c.wscale : c.srv_wscale, 14) : 0;
    }
    const uint32_t wnd = static_cast<uint32_t>(v.window) << shift;
    if (from_client) {
        c.cli_wnd = wnd;
        c.cli_wnd_set = true;
        if (v.ack_flag() && c.server_base_set) {
            const int32_t a = net::seq_diff(v.ack, c.server_base);
            c.cli_acked = std::max<uint32_t>(c.cli_acked, a > 0 ? static_cast<uint32_t>(a) : 0);
        }
    } else {
        c.srv_wnd = wnd;
        c.srv_wnd_set = true;
        if (v.ack_flag() && c.client_base_set) {
            const int32_t a = net::seq_diff(v.ack, c.client_base);
            c.srv_acked = std::max<uint32_t>(c.srv_acked, a > 0 ? static_cast<uint32_t>(a) : 0);
        }
    }
}

void LiveSessions::boundary_packet(uint32_t id, Conn& c, const net::PacketView& v,
                                   std::span<const uint8_t> frame, uint64_t ts, bool from_client) {
    if (from_client && v.payload_len > 0) {
        if (c.boundary.at_boundary(cfg_.policy, v, frame, ts)) {
            if (!admit(c)) {
                --stats_.mid_session_waiting;
                return;
            }
            c.client_base = v.seq;
            c.client_base_set = true;
            if (v.ack_flag()) {
                c.server_base = v.ack;
                c.server_base_set = true;
            }
            c.first_ts = ts;
            begin_copying(id, c);
            rec_.sessions[id].end_ns = ts;
            client_packet(id, c, v, frame, ts);
            if (!c.ended) {
                publish(id, c);
            }
            return;
        }
        stats_.mid_session_skipped_bytes += v.payload_len;
        c.boundary.client_skipped(ts);
    } else if (!from_client && v.payload_len > 0) {
        c.boundary.server_data(v.seq, v.payload_len);
    }
    if (v.fin() || v.rst()) {
        ++stats_.mid_session_never;
        free_conn(id);
    }
}

void LiveSessions::client_packet(uint32_t id, Conn& c, const net::PacketView& v,
                                 std::span<const uint8_t> frame, uint64_t ts) {
    if (v.syn()) {
        return;  // a retransmitted SYN
    }
    if (!c.client_base_set) {
        c.client_base = v.seq;
        c.client_base_set = true;
    }
    if (v.ack_flag() && !c.server_base_set) {
        c.server_base = v.ack;
        c.server_base_set = true;
    }
    if (!c.handshake_done && c.syn_seen && c.synack_seen && v.ack_flag()) {
        c.handshake_done = true;
        rec_.sessions[id].rtt_ns = ts > c.syn_ts ? ts - c.syn_ts : 0;
    }
    if (v.payload_len > 0) {
        client_data(id, c, v, frame, ts);
        if (c.ended) {
            return;  // cut
        }
    }
    if (c.close == CloseKind::None && (v.fin() || v.rst())) {
        c.close = v.fin() ? CloseKind::Fin : CloseKind::Rst;
        c.server_closed_first = c.server_fin;
        if (v.rst()) {
            // Nothing will be retransmitted: what is missing is lost.
            end_live(id, c, c.last_mono);
            return;
        }
        const int64_t fin_rel = net::seq_diff(v.seq + v.payload_len, c.client_base);
        if (fin_rel > static_cast<int64_t>(c.high) && fin_rel < kStreamLimit) {
            c.high = static_cast<uint32_t>(fin_rel);  // bytes before the FIN we did not see
        }
        c.closing = true;
    }
    if (c.closing && c.avail >= c.high) {
        end_live(id, c, c.last_mono);
    }
}

void LiveSessions::client_data(uint32_t id, Conn& c, const net::PacketView& v,
                               std::span<const uint8_t> frame, uint64_t ts) {
    int64_t off = net::seq_diff(v.seq, c.client_base);
    uint32_t skip = 0;  // bytes before the stream start (an old retransmission)
    if (off < 0) {
        if (-off >= static_cast<int64_t>(v.payload_len)) {
            return;
        }
        skip = static_cast<uint32_t>(-off);
        off = 0;
    }
    const uint32_t begin = static_cast<uint32_t>(off);
    const uint64_t end64 = uint64_t{begin} + (v.payload_len - skip);
    if (end64 >= kStreamLimit || (end64 > c.data_base + cfg_.max_session_bytes && !c.dropped)) {
        // Over this session's limit (or the 4 GiB stream limit): end it where it is.
        ++stats_.cut;
        c.close = CloseKind::Rst;
        c.high = c.avail;
        c.ooo.clear();
        buffered_ -= c.data.size();
        c.data.resize(c.avail - c.data_base);
        buffered_ += c.data.size();
        end_live(id, c, c.last_mono);
        return;
    }
    const uint32_t end = static_cast<uint32_t>(end64);
    if (end > c.high) {
        // New bytes: do they begin a new request? (RequestPolicy, as session_builder.h.)
        uint32_t ack_rel = c.cur_ack;
        if (v.ack_flag() && c.server_base_set) {
            const int32_t d = net::seq_diff(v.ack, c.server_base);
            ack_rel = d > 0 ? static_cast<uint32_t>(d) : 0;
        }
        auto add_request = [&](uint32_t at, uint32_t ack_start) {
            Request r;
            r.begin = at;
            r.ack_start = ack_start;
            if (ack_start < c.server_high) {
                // The answer began before the request did (pipelining, a greeting).
                r.status_known = true;
                for (const auto& h : c.heads) {
                    if (h.rel <= ack_start && ack_start < h.rel + h.len) {
                        r.status = first_line(std::span<const uint8_t>(
                            h.bytes.data() + (ack_start - h.rel), h.len - (ack_start - h.rel)));
                    }
                }
            }
            c.reqs.push_back(std::move(r));
        };
        if (!c.any_client_data) {
            if (ack_rel > 0 && cfg_.policy.split_on_ack) {
                add_request(0, 0);  // the server spoke first: wait for the target's greeting
            }
            add_request(0, ack_rel);
            c.cur_ack = ack_rel;
        } else {
            const bool acked_more = cfg_.policy.split_on_ack && ack_rel > c.cur_ack;
            const bool paused =
                cfg_.policy.pause_ns > 0 && ts >= c.last_client_data_ts + cfg_.policy.pause_ns;
            if (acked_more || paused) {
                add_request(c.high, ack_rel);
                c.cur_ack = ack_rel;
            }
        }
        c.any_client_data = true;
        c.last_client_data_ts = ts;
        c.high = end;
    }
    if (c.dropped) {
        c.data_base = c.high;  // no copy left to send them to
        c.avail = std::max(c.avail, c.high);
        return;
    }
    // Keep the captured bytes (snaplen may have cut some: they arrive as zeros, counted).
    const uint32_t captured = v.captured_payload > skip ? v.captured_payload - skip : 0;
    const uint32_t b = std::max(begin, std::max(c.avail, c.data_base));
    const uint32_t e = std::min(end, begin + captured);
    if (end > c.data_base + c.data.size()) {
        buffered_ += end - c.data_base - c.data.size();
        c.data.resize(end - c.data_base);
        stats_.peak_buffer = std::max(stats_.peak_buffer, buffered_);
    }
    if (e > b) {
        std::memcpy(c.data.data() + (b - c.data_base),
                    frame.data() + v.payload_offset + skip + (b - begin), e - b);
        if (b <= c.avail) {
            c.avail = e;
        } else {
            // Keep the ranges sorted and disjoint (retransmissions overlap).
            c.ooo.emplace_back(b, e);
            std::sort(c.ooo.begin(), c.ooo.end());
            size_t w = 0;
            for (size_t r = 1; r < c.ooo.size(); ++r) {
                if (c.ooo[r].first <= c.ooo[w].second) {
                    c.ooo[w].second = std::max(c.ooo[w].second, c.ooo[r].second);
                } else {
                    c.ooo[++w] = c.ooo[r];
                }
            }
            c.ooo.resize(w + 1);
        }
        // Ranges that now touch the published prefix join it.
        size_t n = 0;
        for (; n < c.ooo.size() && c.ooo[n].first <= c.avail; ++n) {
            c.avail = std::max(c.avail, c.ooo[n].second);
        }
        c.ooo.erase(c.ooo.begin(), c.ooo.begin() + static_cast<std::ptrdiff_t>(n));
    }
}

// Bytes up to `to` are given up as lost by the capture (the server acknowledged them, or the
// connection ended): they are published as zeros and counted.
void LiveSessions::advance(Conn& c, uint32_t to) {
    if (to <= c.avail) {
        return;
    }
    uint64_t present = 0;
    uint32_t reach = to;
    size_t n = 0;
    for (; n < c.ooo.size() && c.ooo[n].first < to; ++n) {
        present += std::min(c.ooo[n].second, to) - c.ooo[n].first;
        reach = std::max(reach, c.ooo[n].second);
    }
    stats_.missing_bytes += (to - c.avail) - present;
    c.avail = reach;
    c.ooo.erase(c.ooo.begin(), c.ooo.begin() + static_cast<std::ptrdiff_t>(n));
    size_t m = 0;
    for (; m < c.ooo.size() && c.ooo[m].first <= c.avail; ++m) {
        c.avail = std::max(c.avail, c.ooo[m].second);
    }
    c.ooo.erase(c.ooo.begin(), c.ooo.begin() + static_cast<std::ptrdiff_t>(m));
    if (!c.dropped && c.avail > c.data_base + c.data.size()) {
        buffered_ += c.avail - c.data_base - c.data.size();
        c.data.resize(c.avail - c.data_base);
    }
}

void LiveSessions::server_packet(uint32_t id, Conn& c, const net::PacketView& v,
                                 std::span<const uint8_t> frame, uint64_t ts) {
    if (v.syn()) {
        if (v.ack_flag() && !c.synack_seen) {
            c.synack_seen = true;
            c.server_base = v.seq + 1;
            c.server_base_set = true;
            uint16_t mss = 0;
            parse_syn_options(v, frame, mss, c.srv_wscale);
        }
        return;
    }
    if (!c.server_base_set) {
        c.server_base = v.seq;
        c.server_base_set = true;
    }
    if (v.ack_flag() && c.client_base_set) {
        // The server has every client byte below its ack: a hole there is a capture loss.
        const int64_t rel = net::seq_diff(v.ack, c.client_base);
        if (rel > static_cast<int64_t>(c.avail)) {
            advance(c, std::min<uint32_t>(
                           static_cast<uint32_t>(std::min<int64_t>(rel, kStreamLimit)), c.high));
        }
    }
    if (v.payload_len > 0) {
        const int32_t d = net::seq_diff(v.seq, c.server_base);
        const uint32_t rel = d > 0 ? static_cast<uint32_t>(d) : 0;
        const uint32_t skip = d < 0 ? static_cast<uint32_t>(-d) : 0;
        if (skip < v.payload_len && rel + (v.payload_len - skip) > c.server_high) {
            const uint32_t end = rel + (v.payload_len - skip);
            c.server_high = end;
            c.last_server_data_ts = ts;
            const uint32_t captured = v.captured_payload > skip ? v.captured_payload - skip : 0;
            const uint8_t* p = frame.data() + v.payload_offset + skip;
            if (captured > 0) {
                Conn::Head h;
                h.rel = rel;
                h.len = static_cast<uint8_t>(std::min<size_t>(captured, kHeadBytes));
                std::memcpy(h.bytes.data(), p, h.len);
                c.heads.push_back(h);
                if (c.heads.size() > kHeadsKept) {
                    c.heads.pop_front();
                }
            }
            // The first line of answers that begin in this segment.
            for (size_t i = c.reqs.size(); i-- > 0;) {
                Request& r = c.reqs[i];
                if (r.status_known) {
                    break;
                }
                if (r.ack_start >= end) {
                    continue;  // a later answer
                }
                if (r.ack_start < rel || r.ack_start - rel >= captured) {
                    resolve_status(c, i, {});  // its first bytes were not captured
                    continue;
                }
                const uint32_t at = r.ack_start - rel;
                resolve_status(c, i, first_line(std::span<const uint8_t>(p + at, captured - at)));
            }
            changed(id, c);  // the current answer grew
        }
    }
    if (v.fin()) {
        c.server_fin = true;
    }
    if (v.rst()) {
        end_live(id, c, c.last_mono);  // the live connection is over
    }
}

void LiveSessions::publish(uint32_t id, Conn& c) {
    RecordedSession& s = rec_.sessions[id];
    bool moved = false;
    if (s.stream_len != c.avail) {
        stats_.client_bytes += c.avail - s.stream_len;
        s.stream_len = c.avail;
        moved = true;
    }
    const uint32_t total = c.req_base + static_cast<uint32_t>(c.reqs.size());
    while (c.published < total) {
        const Request& r = c.reqs[c.published - c.req_base];
        const bool next_same =
            c.published + 1 < total && c.reqs[c.published + 1 - c.req_base].begin == r.begin;
        if (!(r.begin < c.avail || next_same || (c.ended && r.begin <= c.avail))) {
            break;
        }
        ++c.published;
        ++stats_.requests;
        stats_.requests_unsent += c.ended_copies;  // a copy already over will not send it
        moved = true;
    }
    s.request_count = c.published;
    s.missing_bytes = 0;
    s.close = c.close;
    s.server_closed_first = c.server_closed_first || (c.server_fin && c.close == CloseKind::None);
    if (s.open && c.ended) {
        s.open = false;
        moved = true;
    }
    if (moved) {
        changed(id, c);
    }
}

void LiveSessions::end_live(uint32_t id, Conn& c, uint64_t now_ns) {
    if (c.ended) {
        return;
    }
    if (c.state == State::Copying) {
        advance(c, c.high);
    }
    c.ended = true;
    c.ended_mono = now_ns;
    for (size_t i = 0; i < c.reqs.size(); ++i) {
        if (!c.reqs[i].status_known) {
            resolve_status(c, i, {});
        }
    }
    if (c.state == State::Copying) {
        publish(id, c);
        changed(id, c);
    }
}

void LiveSessions::resolve_status(Conn& c, size_t i, std::string_view line) {
    Request& r = c.reqs[i];
    r.status_known = true;
    r.status = std::string(line);
    const uint32_t index = c.req_base + static_cast<uint32_t>(i);
    for (const auto& p : r.pending) {
        record_compare(c, index, p.client, r.status, p.got, p.cut);
    }
    r.pending.clear();
    r.pending.shrink_to_fit();
}

void LiveSessions::record_compare(Conn& /*c*/, uint32_t index, const net::Endpoint& client,
                                  const std::string& expected, const std::string& got, bool cut) {
    if (expected.empty()) {
        ++stats_.status_unknown;
        return;
    }
    const bool same =
        cut ? expected.compare(0, got.size(), got) == 0 && got.size() <= expected.size()
            : expected == got;
    if (same) {
        ++stats_.status_match;
        return;
    }
    ++stats_.status_mismatch;
    if (stats_.mismatch_examples.size() < ReplayCounters::kMaxExamples) {
        stats_.mismatch_examples.push_back({client.to_string(), 0, index, expected, got});
    }
}

void LiveSessions::drop_data(Conn& c) {
    c.dropped = true;
    buffered_ -= c.data.size();
    std::vector<uint8_t>().swap(c.data);
    c.data_base = c.high;
    c.ooo.clear();
    for (Request& r : c.reqs) {
        for (const auto& p : r.pending) {
            (void)p;
            ++stats_.status_unknown;
        }
        r.pending.clear();
    }
    // Keep the last request: later bytes still cut requests (for the counts).
    while (c.reqs.size() > 1) {
        c.reqs.pop_front();
        ++c.req_base;
    }
}

void LiveSessions::take_new(std::vector<uint32_t>& out) {
    out.clear();
    out.swap(new_);
}

void LiveSessions::take_changed(std::vector<uint32_t>& out) {
    out.clear();
    out.swap(changed_);
    for (uint32_t id : out) {
        if (Conn* c = find(id)) {
            c->is_changed = false;
        }
    }
}

void LiveSessions::copy_started(uint32_t session) {
    Conn* c = find(session);
    if (c == nullptr || c->pending_copies == 0) {
        return;
    }
    --c->pending_copies;
    ++c->live_copies;
}

void LiveSessions::copy_not_started(uint32_t session) {
    Conn* c = find(session);
    if (c == nullptr || c->pending_copies == 0) {
        return;
    }
    --c->pending_copies;
    ++c->ended_copies;
    ++stats_.copies_not_started;
    stats_.requests_unsent += c->published;
    if (c->live_copies == 0 && c->pending_copies == 0) {
        drop_data(*c);
    }
}

void LiveSessions::copy_ended(uint32_t session, uint32_t /*requests_done*/) {
    Conn* c = find(session);
    if (c == nullptr || c->live_copies == 0) {
        return;
    }
    --c->live_copies;
    ++c->ended_copies;
    if (c->live_copies == 0 && c->pending_copies == 0) {
        drop_data(*c);
    }
}

void LiveSessions::progress(uint32_t session, const CopyProgress& p) {
    Conn* c = find(session);
    if (c == nullptr || c->dropped || c->pending_copies > 0 || p.copies == 0) {
        return;
    }
    // Requests every copy is done with (the current one and the next are kept).
    while (c->req_base < p.min_request && c->reqs.size() > 1 && c->req_base + 1 < c->published) {
        for (const auto& x : c->reqs.front().pending) {
            (void)x;
            ++stats_.status_unknown;
        }
        c->reqs.pop_front();
        ++c->req_base;
    }
    // Bytes every copy's target acknowledged.
    const uint32_t upto = std::min(p.min_acked, c->avail);
    if (upto > c->data_base) {
        const uint32_t n = upto - c->data_base;
        if (n >= kTrimBytes || n * 2 >= c->data.size()) {
            c->data.erase(c->data.begin(), c->data.begin() + n);
            c->data_base = upto;
            buffered_ -= n;
            if (c->data.capacity() > 4 * kTrimBytes && c->data.capacity() > 4 * c->data.size()) {
                c->data.shrink_to_fit();
            }
        }
    }
}

void LiveSessions::expire(uint64_t now_ns) {
    last_sweep_ = now_ns;
    for (uint32_t id = 0; id < conns_.size(); ++id) {
        Conn* c = conns_[id].get();
        if (c == nullptr) {
            continue;
        }
        if (!c->ended && now_ns >= c->last_mono + cfg_.idle_ns) {
            if (c->state == State::Boundary) {
                ++stats_.mid_session_never;
                free_conn(id);
                continue;
            }
            if (c->state == State::Copying) {
                ++stats_.expired;
            }
            end_live(id, *c, now_ns);
            c->ended = true;
            c->ended_mono = now_ns;
        }
        if (c->ended && c->live_copies == 0 && c->pending_copies == 0 &&
            now_ns >= c->ended_mono + cfg_.closed_linger_ns) {
            free_conn(id);
        }
    }
}

void LiveSessions::close_all(uint64_t now_ns) {
    for (uint32_t id = 0; id < conns_.size(); ++id) {
        Conn* c = conns_[id].get();
        if (c == nullptr || c->ended) {
            continue;
        }
        if (c->state == State::Boundary) {
            free_conn(id);
            continue;
        }
        if (c->state == State::Copying) {
            ++stats_.ended_at_stop;
        }
        end_live(id, *c, now_ns);
        c->ended = true;
        c->ended_mono = now_ns;
    }
}

// ---- SessionFeed --------------------------------------------------------------------------

RecordedRequest LiveSessions::request(uint32_t session, uint32_t index) const {
    const Conn& c = conn(session);
    RecordedRequest r;
    if (index < c.req_base || index - c.req_base >= c.reqs.size()) {
        return r;  // dropped (no copy needs it any more)
    }
    const size_t i = index - c.req_base;
    const Request& q = c.reqs[i];
    const bool has_next = i + 1 < c.reqs.size();
    const uint32_t end = has_next ? c.reqs[i + 1].begin : c.high;
    const uint32_t pub_end = std::min(end, c.avail);
    r.begin = q.begin;
    r.length = pub_end > q.begin ? pub_end - q.begin : 0;
    const uint32_t answer_end = has_next ? c.reqs[i + 1].ack_start : c.server_high;
    r.response_len = answer_end > q.ack_start ? answer_end - q.ack_start : 0;
    r.think_ns = 0;  // the live client's own pace: a request leaves when it was sent
    return r;
}

std::span<const uint8_t> LiveSessions::bytes(uint32_t session, uint32_t offset,
                                             uint32_t length) const {
    const Conn& c = conn(session);
    if (offset >= c.data_base && uint64_t{offset} + length <= c.data_base + c.data.size()) {
        return {c.data.data() + (offset - c.data_base), length};
    }
    // Never for a copy that is still running (its unacknowledged bytes are kept); zeros keep
    // a packet well-formed if it ever happens.
    static const std::vector<uint8_t> zeros(65536, 0);
    return {zeros.data(), std::min<size_t>(length, zeros.size())};
}

std::optional<std::string_view> LiveSessions::status_line(uint32_t session, uint32_t index) const {
    const Conn& c = conn(session);
    if (index < c.req_base || index - c.req_base >= c.reqs.size()) {
        return std::string_view();
    }
    const Request& q = c.reqs[index - c.req_base];
    if (!q.status_known) {
        return std::nullopt;
    }
    return std::string_view(q.status);
}

void LiveSessions::compare_later(uint32_t session, uint32_t index, const net::Endpoint& client,
                                 std::string got, bool cut) {
    Conn* c = find(session);
    if (c == nullptr || index < c->req_base || index - c->req_base >= c->reqs.size()) {
        ++stats_.status_unknown;
        return;
    }
    Request& q = c->reqs[index - c->req_base];
    if (q.status_known) {
        record_compare(*c, index, client, q.status, got, cut);
        return;
    }
    if (q.pending.size() >= kMaxPendingPerRequest) {
        ++stats_.status_unknown;
        return;
    }
    q.pending.push_back({client, std::move(got), cut});
}

}  // namespace tcpr::replay
