#include "replayer/sessions/live_sessions.h"

#include <algorithm>
#include <map>

#include "common/base/hash.h"
#include "replayer/sessions/session_builder.h"

namespace tcpr::replay {
namespace {

constexpr size_t kMaxPendingPerRequest = 64;  // target lines waiting for the online one

enum class State : uint8_t { Boundary, Copying, Ignored };

}  // namespace

struct LiveSessions::Conn {
    // A target's first line waiting for the online answer's (compare_later).
    struct Pending {
        net::Endpoint client;
        std::string got;
        bool cut = false;
    };

    explicit Conn(Conversation c) : conv(std::move(c)) {}

    Conversation conv;
    State state = State::Boundary;
    net::FlowKey key;
    uint64_t last_mono = 0, ended_mono = 0;
    uint32_t published = 0;    // requests published (absolute count)
    uint32_t done_by_all = 0;  // requests every copy finished (its last progress)
    bool behind = false;       // shed for lag: no request is published any more
    bool ended = false;        // the live connection is over (or given up): no more input
    bool dropped = false;      // no copy left: bytes are no longer kept
    bool is_changed = false;
    uint32_t live_copies = 0, pending_copies = 0, ended_copies = 0;
    std::map<uint32_t, std::vector<Pending>> waiting;  // by request index
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

uint32_t LiveSessions::new_conn(Conversation conv) {
    uint32_t id;
    if (!free_ids_.empty()) {
        id = free_ids_.back();
        free_ids_.pop_back();
    } else {
        id = static_cast<uint32_t>(conns_.size());
        conns_.emplace_back();
        rec_.sessions.emplace_back();
    }
    conns_[id] = std::make_unique<Conn>(std::move(conv));
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
    buffered_ -= c->conv.held_bytes();
    conns_[id].reset();
    rec_.sessions[id] = RecordedSession{};
    free_ids_.push_back(id);
}

// The bytes a connection holds changed from `before`: the buffer total follows.
void LiveSessions::account(const Conn& c, size_t before) {
    buffered_ = buffered_ - before + c.conv.held_bytes();
    stats_.peak_buffer = std::max(stats_.peak_buffer, buffered_);
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

// The archive builder's selection (SessionBuilder): shard, port, time, client network, sample,
// each connection counted once.
bool LiveSessions::select_archive(const net::Endpoint& client, const net::Endpoint& server,
                                  uint64_t ts) {
    if (cfg_.shards > 1 && shard_of(client, cfg_.shards) != cfg_.shard) {
        ++stats_.other_shard;
        return false;
    }
    if (cfg_.port_given && server.port != cfg_.server_port) {
        ++stats_.other_port;
        return false;
    }
    if (cfg_.ip_version && client.addr.version != *cfg_.ip_version) {
        ++stats_.other_family;
        return false;
    }
    const uint64_t offset = ts - first_ts_;
    bool ok = offset >= cfg_.from_ns && (!cfg_.to_ns || offset < *cfg_.to_ns);
    if (ok && !cfg_.client_nets.empty()) {
        ok = std::any_of(cfg_.client_nets.begin(), cfg_.client_nets.end(),
                         [&](const Cidr& n) { return n.contains(client.addr); });
    }
    if (ok && cfg_.sample_percent < 100.0) {
        // The builder's decision (session_builder.cpp), from the tuple and the connection's
        // capture time (before a loop's shift): --dry-run lists the sessions replayed, and
        // every loop replays the same ones.
        const uint64_t h = mix64(net::FlowKeyHash{}(net::FlowKey::of(client, server)) ^
                                 mix64((ts - time_shift_) ^ cfg_.sample_seed));
        ok = static_cast<double>(h % 1'000'000) < cfg_.sample_percent * 10'000.0;
    }
    if (!ok) {
        ++stats_.not_selected;
    }
    return ok;
}

// Which side of a connection's first packet is the client (SessionBuilder's rule).
bool LiveSessions::src_is_client(const net::PacketView& v) const {
    if (v.syn()) {
        return !v.ack_flag();
    }
    const bool to_server = v.dport == cfg_.server_port;
    const bool from_server = v.sport == cfg_.server_port;
    if (to_server != from_server) {
        return to_server;
    }
    return v.sport > v.dport;  // neither or both: the lower port serves
}

bool LiveSessions::admit(Conn& c) {
    if (cfg_.archive) {
        return true;  // the source bounds memory by reading no further
    }
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
    if (cfg_.max_lag_ns != 0 && stats_.lag_ns > cfg_.max_lag_ns) {
        ++stats_.dropped_behind;
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
    if (!c.conv.syn_seen()) {
        ++stats_.mid_session;
    }
    RecordedSession& s = rec_.sessions[id];
    s = session_facts(c.conv);
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
    if (ts >= latest_ts_) {
        latest_ts_ = ts;
        latest_mono_ = now_ns;
    }
    if (!have_first_) {
        have_first_ = true;
        first_ts_ = cfg_.capture_start_ns != 0 ? std::min(cfg_.capture_start_ns, ts) : ts;
    }
    const net::Endpoint src{v.src, v.sport}, dst{v.dst, v.dport};
    const bool to_server = v.dport == cfg_.server_port;
    const bool from_server = v.sport == cfg_.server_port;
    if (!cfg_.archive && !to_server && !from_server) {
        ++stats_.other_port;
        return;
    }
    const net::FlowKey key = net::FlowKey::of(src, dst);
    auto it = flows_.find(key);
    if (it != flows_.end() && v.syn() && !v.ack_flag()) {
        Conn& old = *conns_[it->second];
        const bool retransmitted = old.conv.syn_seen() && old.conv.syn_seq() == v.seq;
        if (!retransmitted && src == old.conv.client()) {
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
        if (!track(key, v, frame, ts, now_ns)) {
            return;
        }
        it = flows_.find(key);
    }
    const uint32_t id = it->second;
    Conn& c = *conns_[id];
    c.last_mono = now_ns;
    const bool from_client = src == c.conv.client();
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
            if (!c.conv.plausible(v, from_client)) {
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
            c.conv.note_window(v, from_client);
            if (!c.ended) {
                publish(id, c);
            }
            return;
    }
}

// The first packet of a connection not tracked yet: orients it, selects it and, with a SYN,
// starts copying it at once; without one, it waits for its first request boundary. False when
// it is not followed.
bool LiveSessions::track(const net::FlowKey& key, const net::PacketView& v,
                         std::span<const uint8_t> frame, uint64_t ts, uint64_t now_ns) {
    if (v.rst() || (v.fin() && v.payload_len == 0)) {
        return false;  // the end of a connection we never tracked
    }
    const net::Endpoint src{v.src, v.sport}, dst{v.dst, v.dport};
    const bool to_server = v.dport == cfg_.server_port;
    const bool from_server = v.sport == cfg_.server_port;
    const bool client_syn = v.syn() && !v.ack_flag();
    if (cfg_.archive) {
        return track_archive(key, v, frame, ts, now_ns);
    }
    bool src_client;
    if (v.syn()) {
        src_client = client_syn;  // a SYN-ACK whose SYN we missed: the destination is
    } else if (to_server != from_server) {
        src_client = to_server;
    } else {
        return false;  // both ports are the online port and no SYN tells who is the client
    }
    const net::Endpoint& client = src_client ? src : dst;
    const net::Endpoint& server = src_client ? dst : src;
    if (client_syn) {
        ++stats_.connections;
    }
    if (!select(client, server, client_syn)) {
        return false;
    }
    if (flows_.size() >= cfg_.max_tracked) {
        stats_.dropped_tracking += client_syn ? 1 : 0;
        return false;
    }
    const uint32_t id = new_conn(Conversation(client, server, ts, !v.syn(), first_ts_));
    Conn& c = *conns_[id];
    c.conv.digest_answers(cfg_.digest_answers, cfg_.noise);
    c.key = key;
    c.last_mono = now_ns;
    flows_.emplace(key, id);
    if (!v.syn()) {
        c.state = State::Boundary;
        ++stats_.mid_session_waiting;
        return true;
    }
    if (client_syn) {
        c.conv.client_syn(v, frame, ts);
    } else {
        c.conv.server_synack(v, frame);  // the connection is just being set up
    }
    c.state = State::Ignored;  // until admitted
    if (admit(c)) {
        begin_copying(id, c);
    }
    return true;
}

// track() of the archive flavour: every connection is followed (those not replayed as
// ignored ones, so that each is counted once and its later packets are recognised).
bool LiveSessions::track_archive(const net::FlowKey& key, const net::PacketView& v,
                                 std::span<const uint8_t> frame, uint64_t ts, uint64_t now_ns) {
    const net::Endpoint src{v.src, v.sport}, dst{v.dst, v.dport};
    const bool src_client = src_is_client(v);
    const net::Endpoint& client = src_client ? src : dst;
    const net::Endpoint& server = src_client ? dst : src;
    ++stats_.connections;
    if (flows_.size() >= cfg_.max_tracked) {
        ++stats_.dropped_tracking;
        return false;
    }
    const bool selected = select_archive(client, server, ts);
    const uint32_t id = new_conn(Conversation(client, server, ts, !v.syn(), first_ts_));
    Conn& c = *conns_[id];
    c.key = key;
    c.last_mono = now_ns;
    flows_.emplace(key, id);
    if (!selected) {
        c.state = State::Ignored;
        return true;
    }
    c.conv.digest_answers(cfg_.digest_answers, cfg_.noise);
    if (!v.syn()) {
        c.state = State::Boundary;
        ++stats_.mid_session_waiting;
        return true;
    }
    if (src_client) {
        c.conv.client_syn(v, frame, ts);
    } else {
        c.conv.server_synack(v, frame);
    }
    begin_copying(id, c);
    return true;
}

void LiveSessions::boundary_packet(uint32_t id, Conn& c, const net::PacketView& v,
                                   std::span<const uint8_t> frame, uint64_t ts, bool from_client) {
    if (from_client && c.conv.at_boundary(cfg_.policy, v, frame, ts)) {
        if (!admit(c)) {
            --stats_.mid_session_waiting;
            return;
        }
        c.conv.begin_at(v, ts);
        begin_copying(id, c);
        rec_.sessions[id].end_ns = ts;
        client_packet(id, c, v, frame, ts);
        if (!c.ended) {
            publish(id, c);
        }
        return;
    }
    stats_.mid_session_skipped_bytes +=
        c.conv.skip_before_boundary(v, from_client, ts).skipped_bytes;
    if (v.fin() || v.rst()) {
        ++stats_.mid_session_never;
        free_conn(id);
    }
}

void LiveSessions::client_packet(uint32_t id, Conn& c, const net::PacketView& v,
                                 std::span<const uint8_t> frame, uint64_t ts) {
    const size_t held = c.conv.held_bytes();
    const Conversation::Step s =
        c.conv.client_segment(cfg_.policy, v, frame, ts, cfg_.max_session_bytes);
    account(c, held);
    if (s.cut) {
        // Over this session's limit (or the 4 GiB stream limit): it ends where it is.
        ++stats_.cut;
        end_live(id, c, c.last_mono);
        return;
    }
    rec_.sessions[id].rtt_ns = c.conv.rtt_ns();
    if (c.conv.client_done()) {
        // Reset (nothing will be retransmitted: what is missing is lost), or closed with
        // every byte before the FIN in.
        end_live(id, c, c.last_mono);
    }
}

void LiveSessions::server_packet(uint32_t id, Conn& c, const net::PacketView& v,
                                 std::span<const uint8_t> frame, uint64_t ts) {
    const size_t held = c.conv.held_bytes();
    const Conversation::Step s = c.conv.server_segment(v, frame, ts, true);
    account(c, held);
    stats_.missing_bytes += s.missing;
    if (s.missing > 0 && !cfg_.archive && !c.ended) {
        // The capture lost client bytes: the copies end before the request they belong to.
        ++stats_.cut_capture_loss;
        end_live(id, c, c.last_mono);
        return;
    }
    if (s.status) {
        settle_waiting(c);
    }
    if (s.answer) {
        changed(id, c);  // the current answer grew
    }
    if (s.server_reset) {
        end_live(id, c, c.last_mono);  // the live connection is over
    }
}

void LiveSessions::publish(uint32_t id, Conn& c) {
    RecordedSession& s = rec_.sessions[id];
    bool moved = false;
    uint32_t total = c.conv.request_end();
    if (c.published < c.conv.first_request()) {
        // Released unpublished (no copy left): counted as published and unsent.
        const uint32_t n = c.conv.first_request() - c.published;
        stats_.requests += n;
        stats_.requests_unsent += uint64_t{n} * c.ended_copies;
        c.published = c.conv.first_request();
        moved = true;
    }
    uint32_t avail = c.conv.published_bytes();
    if (c.behind) {
        total = c.published;  // shed for lag (expire()): what is published is all there is
        if (c.published < c.conv.request_end()) {
            avail = std::min(avail, c.conv.request(c.published).begin);
        }
    }
    const uint32_t lost_at = cfg_.archive ? Conversation::kNoLoss : c.conv.first_lost();
    if (lost_at != Conversation::kNoLoss) {
        // Live: a request the capture lost bytes of is never sent (zeros in its place make the
        // target answer 400 and close); the copies end before it, with a FIN.
        uint32_t whole = c.published;
        while (whole < total && (whole + 1 < total ? c.conv.request(whole + 1).begin
                                                   : c.conv.stream_end()) <= lost_at) {
            ++whole;
        }
        total = whole;
        avail = std::min(avail, whole < c.conv.request_end()
                                    ? std::min(c.conv.request(whole).begin, lost_at)
                                    : lost_at);
        avail = std::max(avail, s.stream_len);  // what was published stays published
    }
    if (s.stream_len != avail) {
        stats_.client_bytes += avail - s.stream_len;
        s.stream_len = avail;
        moved = true;
    }
    while (c.published < total) {
        const AssembledRequest& r = c.conv.request(c.published);
        const bool next_same =
            c.published + 1 < total && c.conv.request(c.published + 1).begin == r.begin;
        if (!(r.begin < avail || next_same || (c.ended && r.begin <= avail))) {
            break;
        }
        ++c.published;
        ++stats_.requests;
        stats_.requests_unsent += c.ended_copies;  // a copy already over will not send it
        moved = true;
    }
    s.request_count = c.published;
    s.missing_bytes = 0;
    s.close = lost_at != Conversation::kNoLoss || c.behind ? CloseKind::Fin : c.conv.close();
    s.server_closed_first = c.conv.server_closed_first();
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
    const size_t held = c.conv.held_bytes();
    const Conversation::Step s = c.conv.finish();
    account(c, held);
    if (c.state == State::Copying) {
        stats_.missing_bytes += s.missing;
    }
    c.ended = true;
    c.ended_mono = now_ns;
    settle_waiting(c);
    if (c.state == State::Copying) {
        publish(id, c);
        changed(id, c);
    }
}

// Target first lines waiting for an online answer whose first line is now known.
void LiveSessions::settle_waiting(Conn& c) {
    for (auto it = c.waiting.begin(); it != c.waiting.end();) {
        const uint32_t index = it->first;
        if (index < c.conv.first_request() || index >= c.conv.request_end()) {
            stats_.status_unknown += it->second.size();  // released meanwhile
            it = c.waiting.erase(it);
            continue;
        }
        const AssembledRequest& r = c.conv.request(index);
        if (!r.status_known) {
            ++it;
            continue;
        }
        for (const auto& p : it->second) {
            record_compare(index, p.client, r.status, p.got, p.cut);
        }
        it = c.waiting.erase(it);
    }
}

void LiveSessions::record_compare(uint32_t index, const net::Endpoint& client,
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
    if (stats_.mismatch_examples.size() < kMaxMismatchExamples) {
        stats_.mismatch_examples.push_back({client.to_string(), 0, index, expected, got});
    }
}

void LiveSessions::drop_data(Conn& c) {
    c.dropped = true;
    buffered_ -= c.conv.held_bytes();
    c.conv.drop_bytes();
    for (const auto& [index, lines] : c.waiting) {
        stats_.status_unknown += lines.size();
    }
    c.waiting.clear();
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
    c->done_by_all = std::max(c->done_by_all, p.min_request);
    // Requests every copy is done with (the current one and the next are kept), and bytes
    // every copy's target acknowledged.
    if (c->conv.release_requests(p.min_request, c->published) > 0) {
        settle_waiting(*c);
    }
    const size_t held = c->conv.held_bytes();
    c->conv.release_bytes(p.min_acked);
    account(*c, held);
}

void LiveSessions::expire(uint64_t now_ns) {
    last_sweep_ = now_ns;
    uint64_t lag = 0;
    // Capture time now: the latest packet's, moved on by the time since it came (the traffic
    // may have stopped while copies are still behind).
    const uint64_t capture_now =
        latest_ts_ + (!cfg_.archive && now_ns > latest_mono_ ? now_ns - latest_mono_ : 0);
    for (uint32_t id = 0; id < conns_.size(); ++id) {
        Conn* c = conns_[id].get();
        if (c == nullptr) {
            continue;
        }
        if (c->state == State::Copying && c->live_copies > 0) {
            // The oldest request some copy has not finished: how long ago the client sent it.
            const uint32_t oldest = std::max(c->done_by_all, c->conv.first_request());
            if (oldest < c->published && oldest < c->conv.request_end()) {
                const uint64_t sent = c->conv.request(oldest).sent_ts;
                const uint64_t behind = capture_now > sent ? capture_now - sent : 0;
                lag = std::max(lag, behind);
                if (cfg_.max_lag_ns != 0 && behind > cfg_.max_lag_ns && !c->behind) {
                    // Shed its later requests: each copy ends after the request it is on
                    // (with a FIN), so neither a long keep-alive connection nor the backlog
                    // its client sent meanwhile keeps it behind.
                    c->behind = true;
                    rec_.sessions[id].shed = true;
                    ++stats_.cut_behind;
                    end_live(id, *c, now_ns);
                }
            }
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
        }
        if (c->ended && c->live_copies == 0 && c->pending_copies == 0 &&
            now_ns >= c->ended_mono + cfg_.closed_linger_ns) {
            free_conn(id);
        }
    }
    stats_.lag_ns = lag;
    stats_.peak_lag_ns = std::max(stats_.peak_lag_ns, lag);
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
    }
}

void LiveSessions::end_input(uint64_t now_ns, uint64_t next_shift_ns) {
    time_shift_ = next_shift_ns;
    close_all(now_ns);
    for (uint32_t id = 0; id < conns_.size(); ++id) {
        if (conns_[id] && conns_[id]->state != State::Copying) {
            free_conn(id);  // ignored connections: nothing copies them
        }
    }
    flows_.clear();
    have_first_ = false;
}

// ---- SessionFeed --------------------------------------------------------------------------

RecordedRequest LiveSessions::request(uint32_t session, uint32_t index) const {
    RecordedRequest r = conn(session).conv.recorded(index);
    if (!cfg_.archive) {
        r.think_ns = 0;  // the live client's own pace: a request leaves when it was sent
    }
    return r;
}

uint32_t LiveSessions::response_len(uint32_t session, uint32_t index) const {
    return conn(session).conv.response_len(index);
}

uint32_t LiveSessions::request_end(uint32_t session, uint32_t index) const {
    return conn(session).conv.request_end(index);
}

std::span<const uint8_t> LiveSessions::bytes(uint32_t session, uint32_t offset,
                                             uint32_t length) const {
    const auto held = conn(session).conv.bytes(offset, length);
    if (held.size() == length) {
        return held;
    }
    // Never for a copy that is still running (its unacknowledged bytes are kept); zeros keep
    // a packet well-formed if it ever happens.
    static const std::vector<uint8_t> zeros(65536, 0);
    return {zeros.data(), std::min<size_t>(length, zeros.size())};
}

std::optional<std::string_view> LiveSessions::status_line(uint32_t session, uint32_t index) const {
    const Conversation& c = conn(session).conv;
    if (index < c.first_request() || index >= c.request_end()) {
        return std::string_view();
    }
    const AssembledRequest& q = c.request(index);
    if (!q.status_known) {
        return std::nullopt;
    }
    return std::string_view(q.status);
}

std::string_view LiveSessions::response_head(uint32_t session, uint32_t index) const {
    const Conversation& c = conn(session).conv;
    if (index < c.first_request() || index >= c.request_end()) {
        return {};
    }
    const AssembledRequest& q = c.request(index);
    return q.status_known ? q.head() : std::string_view();
}

void LiveSessions::compare_later(uint32_t session, uint32_t index, const net::Endpoint& client,
                                 std::string got, bool cut) {
    Conn* c = find(session);
    if (c == nullptr || index < c->conv.first_request() || index >= c->conv.request_end()) {
        ++stats_.status_unknown;
        return;
    }
    const AssembledRequest& q = c->conv.request(index);
    if (q.status_known) {
        record_compare(index, client, q.status, got, cut);
        return;
    }
    auto& lines = c->waiting[index];
    if (lines.size() >= kMaxPendingPerRequest) {
        ++stats_.status_unknown;
        return;
    }
    lines.push_back({client, std::move(got), cut});
}

}  // namespace tcpr::replay
