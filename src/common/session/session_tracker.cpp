#include "common/session/session_tracker.h"

namespace tcpr::session {

using net::Endpoint;

size_t SessionTracker::start_session(const net::PacketView& p, const net::FlowKey& key,
                                     uint64_t ts_ns) {
    SessionSummary s;
    const Endpoint src{p.src, p.sport};
    const Endpoint dst{p.dst, p.dport};
    if (p.syn() && !p.ack_flag()) {
        s.client = src;
        s.server = dst;
        s.flags |= session_flags::kClientFromSyn;
    } else if (p.syn() && p.ack_flag()) {
        s.client = dst;  // a SYN-ACK comes from the server
        s.server = src;
        s.flags |= session_flags::kClientFromSyn;
    } else if (server_port_ && p.sport == *server_port_ && p.dport != *server_port_) {
        s.client = dst;
        s.server = src;
    } else if (server_port_ && p.dport == *server_port_) {
        s.client = src;
        s.server = dst;
    } else if (p.sport < p.dport) {
        s.client = dst;
        s.server = src;
    } else {
        s.client = src;
        s.server = dst;
    }
    s.first_ns = ts_ns;
    s.last_ns = ts_ns;
    sessions_.push_back(std::move(s));
    const size_t idx = sessions_.size() - 1;
    if (p.syn()) {
        open_[key] = OpenFlow{idx, p.ack_flag() ? p.ack - 1 : p.seq, true};
    } else {
        open_[key] = OpenFlow{idx, 0, false};
    }
    return idx;
}

size_t SessionTracker::observe(const net::PacketView& p, uint64_t ts_ns, uint32_t frame) {
    const Endpoint src{p.src, p.sport};
    const Endpoint dst{p.dst, p.dport};
    const net::FlowKey key = net::FlowKey::of(src, dst);
    size_t idx;
    auto it = open_.find(key);
    if (it == open_.end()) {
        idx = start_session(p, key, ts_ns);
    } else {
        idx = it->second.index;
        const SessionSummary& s = sessions_[idx];
        const bool closed = s.flags & (session_flags::kFinSeen | session_flags::kRstSeen);
        // A SYN or SYN-ACK on a tuple that was closed, that was captured mid-stream, or that
        // implies another client ISN than the one known (a SYN's seq, a SYN-ACK's ack - 1) is
        // a new connection (port reuse): start a new generation rather than merge.
        // A retransmitted SYN or SYN-ACK implies the same ISN and stays in its session.
        if (p.syn()) {
            const bool synack = p.ack_flag();
            const uint32_t isn = synack ? p.ack - 1 : p.seq;
            const bool oriented = synack ? dst == s.client : src == s.client;
            const OpenFlow& flow = it->second;
            if (closed || !oriented || !flow.isn_known || isn != flow.client_isn) {
                idx = start_session(p, key, ts_ns);
            }
        }
    }
    SessionSummary& s = sessions_[idx];
    const bool from_client = src == s.client;
    if (from_client) {
        ++s.packets_c2s;
        s.bytes_c2s += p.payload_len;
    } else {
        ++s.packets_s2c;
        s.bytes_s2c += p.payload_len;
    }
    if (p.syn() && !p.ack_flag() && from_client) {
        s.flags |= session_flags::kSynSeen;
    }
    if (p.syn() && p.ack_flag() && !from_client) {
        s.flags |= session_flags::kSynAckSeen;
    }
    if (p.fin()) {
        s.flags |= session_flags::kFinSeen;
    }
    if (p.rst()) {
        s.flags |= session_flags::kRstSeen;
    }
    if (p.payload_truncated()) {
        s.flags |= session_flags::kPayloadTruncated;
    }
    if (ts_ns < s.first_ns) {
        s.first_ns = ts_ns;
    }
    if (ts_ns > s.last_ns) {
        s.last_ns = ts_ns;
    }
    if (s.frames.empty() || s.frames.back() != frame) {
        if (s.frames.empty() || s.frames.back() < frame) {
            s.frames.push_back(frame);
        }
    }
    return idx;
}

size_t SessionTracker::active(uint64_t now_ns, uint64_t idle_ns) const {
    size_t n = 0;
    for (const auto& [key, flow] : open_) {
        const SessionSummary& s = sessions_[flow.index];
        // Capture timestamps are not strictly ordered (per-CPU queues): a session whose last
        // packet is after `now_ns` is active, not "idle for 2^64 ns".
        if (!(s.flags & (session_flags::kFinSeen | session_flags::kRstSeen)) &&
            (now_ns <= s.last_ns || now_ns - s.last_ns <= idle_ns)) {
            ++n;
        }
    }
    return n;
}

}  // namespace tcpr::session
