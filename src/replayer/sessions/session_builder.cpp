#include "replayer/sessions/session_builder.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "common/base/hash.h"
#include "common/net/flow_key.h"
#include "replayer/sessions/endpoint_name.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kSweepPeriodNs = 1'000'000'000;
constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

// A connection of the capture: selected ones are assembled, the others only followed (a new
// SYN on their tuple is a new connection).
struct Connection {
    Conversation conv;
    bool selected = true;
    uint64_t last_ts = 0;

    bool closed() const { return conv.close() != CloseKind::None || conv.server_reset(); }
};

}  // namespace

uint32_t shard_of(const net::Endpoint& client, uint32_t shards) {
    if (shards <= 1) {
        return 0;
    }
    // FNV-1a over the address's bytes and the port, then mixed: fixed by the endpoint alone.
    uint64_t h = 0xcbf29ce484222325ull;
    const auto add = [&](uint8_t b) {
        h ^= b;
        h *= 0x100000001b3ull;
    };
    add(client.addr.version);
    const int len = client.addr.version == 6 ? 16 : 4;
    for (int i = 0; i < len; ++i) {
        add(client.addr.bytes[i]);
    }
    add(static_cast<uint8_t>(client.port >> 8));
    add(static_cast<uint8_t>(client.port));
    return static_cast<uint32_t>(mix64(h) % shards);
}

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

    // Which side is the client, from a connection's first packet.
    bool src_is_client(const net::PacketView& v) const {
        if (v.syn()) {
            return !v.ack_flag();
        }
        if (is_server_port(v.dport) != is_server_port(v.sport)) {
            return is_server_port(v.dport);
        }
        return v.sport > v.dport;  // neither or both: the lower port serves
    }

    bool select(const Conversation& c, uint64_t ts) {
        const Selection& s = opt.selection;
        // Another shard's connection is only counted there (merged reports add up).
        if (s.shards > 1 && shard_of(c.client(), s.shards) != s.shard) {
            ++rec.stats.other_shard;
            return false;
        }
        if (s.server_port && c.server().port != *s.server_port) {
            ++rec.stats.other_port;
            return false;
        }
        const uint64_t offset = ts - rec.first_ns;
        bool ok = offset >= s.from_ns && (!s.to_ns || offset < *s.to_ns);
        if (ok && !s.client_nets.empty()) {
            ok = std::any_of(s.client_nets.begin(), s.client_nets.end(),
                             [&](const Cidr& n) { return n.contains(c.client().addr); });
        }
        if (ok && s.sample_percent < 100.0) {
            const uint64_t h = mix64(net::FlowKeyHash{}(net::FlowKey::of(c.client(), c.server())) ^
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
        if (it != open.end() && starts_anew(it->second, v, src)) {
            complete(it->second);  // a new connection on a reused tuple
            open.erase(it);
            it = open.end();
        }
        if (it == open.end()) {
            const bool client_sent = src_is_client(v);
            Connection c{Conversation(client_sent ? src : dst, client_sent ? dst : src, ts,
                                      !v.syn(), rec.first_ns)};
            ++rec.stats.connections;
            c.conv.digest_answers(opt.digest_answers, opt.noise);
            c.selected = select(c.conv, ts);
            it = open.emplace(key, std::move(c)).first;
        }
        Connection& c = it->second;
        c.last_ts = ts;
        if (c.selected) {
            if (src == c.conv.client()) {
                client_packet(c.conv, v, frame, ts);
            } else {
                server_packet(c.conv, v, frame, ts);
            }
            c.conv.note_window(v, src == c.conv.client());
        }
        if (ts >= last_sweep_ts + kSweepPeriodNs) {
            sweep(ts);
            last_sweep_ts = ts;
        }
    }

    // Does this packet begin a new connection on the tuple of `c`? A client SYN after the old
    // one's SYN, data or close, or (a SYN the capture lost) a segment no side of the old one
    // could have sent.
    static bool starts_anew(const Connection& c, const net::PacketView& v,
                            const net::Endpoint& src) {
        const Conversation& conv = c.conv;
        if (v.syn() && !v.ack_flag() && src == conv.client()) {
            const bool retransmitted_syn = conv.syn_seen() && conv.syn_seq() == v.seq;
            return !retransmitted_syn && (conv.syn_seen() || conv.any_client_data() || c.closed());
        }
        return c.selected && !conv.awaiting_boundary() && !conv.plausible(v, src == conv.client());
    }

    void client_packet(Conversation& c, const net::PacketView& v, std::span<const uint8_t> frame,
                       uint64_t ts) {
        if (v.syn()) {
            c.client_syn(v, frame, ts);
            return;
        }
        if (c.awaiting_boundary()) {
            if (!c.at_boundary(opt.policy, v, frame, ts)) {
                rec.stats.mid_session_skipped_bytes +=
                    c.skip_before_boundary(v, true, ts).skipped_bytes;
                return;
            }
            c.begin_at(v, ts);
        }
        c.client_segment(opt.policy, v, frame, ts, kNoLimit);
    }

    void server_packet(Conversation& c, const net::PacketView& v, std::span<const uint8_t> frame,
                       uint64_t ts) {
        if (c.awaiting_boundary() && !v.syn()) {
            if (c.skip_before_boundary(v, false, ts).skipped_answer) {
                ++rec.stats.mid_session_skipped_answers;
            }
            return;
        }
        // A client byte the server acknowledged is given up only at the end: a capture may
        // hold the client's segment just after the server's ACK.
        c.server_segment(v, frame, ts, false);
    }

    // Endpoint names of the recording, by name.
    std::unordered_map<std::string, uint32_t> endpoint_ids;
    std::vector<bool> endpoint_known;

    // The endpoint of a request's bytes (endpoint_name.h); bytes of no known protocol after a
    // known request of the same session continue it.
    uint32_t endpoint_of(std::span<const uint8_t> request, uint32_t previous) {
        EndpointName n = endpoint_name(
            request.first(std::min<size_t>(request.size(), kEndpointScanBytes)), opt.endpoints);
        if (!n.known && previous != kNoEndpoint && endpoint_known[previous]) {
            n.known = true;
            n.name = continued_name(rec.endpoints[previous]);
        }
        const auto [it, fresh] =
            endpoint_ids.emplace(n.name, static_cast<uint32_t>(rec.endpoints.size()));
        if (fresh) {
            rec.endpoints.push_back(n.name);
            endpoint_known.push_back(n.known);
        }
        return it->second;
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

    void complete(Connection& c) {
        if (!c.selected) {
            return;
        }
        Conversation& conv = c.conv;
        if (conv.awaiting_boundary()) {
            // Captured without its handshake and never reached a whole request.
            ++(conv.skipped_client_data() ? rec.stats.mid_session_no_boundary
                                          : rec.stats.without_data);
            return;
        }
        if (!conv.syn_seen() && !conv.any_client_data()) {
            ++rec.stats.without_data;
            return;
        }
        conv.finish();
        RecordedSession s = session_facts(conv);
        s.end_ns = c.last_ts;
        const auto stream = conv.bytes(0, conv.stream_end());
        s.stream_off = rec.arena.size();
        s.stream_len = conv.stream_end();
        s.missing_bytes = static_cast<uint32_t>(conv.missing_bytes());
        rec.arena.insert(rec.arena.end(), stream.begin(), stream.end());
        s.first_request = static_cast<uint32_t>(rec.requests.size());
        uint32_t previous = kNoEndpoint;
        for (uint32_t i = conv.first_request(); i < conv.request_end(); ++i) {
            RecordedRequest r = conv.recorded(i);
            if (opt.digest_answers) {  // the comparison is on: name the request once, here
                r.endpoint = previous = endpoint_of(stream.subspan(r.begin, r.length), previous);
            }
            const AssembledRequest& a = conv.request(i);
            if (r.response_len > 0 && a.head_len > 0) {
                // The answer's first line, and its raw head for the socket transport's --diff.
                r.status_off = static_cast<uint32_t>(rec.text.size());
                r.status_len = static_cast<uint16_t>(a.status.size());
                rec.text += a.status;
                r.head_off = static_cast<uint32_t>(rec.text.size());
                r.head_len = a.head_len;
                rec.text += a.head();
            }
            rec.requests.push_back(r);
        }
        s.request_count = conv.request_end() - conv.first_request();
        rec.stats.requests += s.request_count;
        rec.stats.client_bytes += s.stream_len;
        rec.stats.missing_bytes += s.missing_bytes;
        rec.stats.oversized_segments += conv.oversized_segments();
        if (!s.has_syn) {
            ++rec.stats.mid_session;
        }
        ++rec.stats.sessions;
        rec.sessions.push_back(s);
        conv.drop_bytes();  // released now (the map entry is erased by the caller)
    }
};

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
        rest.emplace_back(c.conv.first_ts(), &c);
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

}  // namespace tcpr::replay
