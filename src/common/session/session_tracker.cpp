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
    open_[key] = OpenFlow{idx, p.seq};
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
        // A SYN on a tuple that was closed, or with another ISN than the SYN we saw, is a new
        // connection (port reuse): start a new generation rather than merge. A retransmitted
        // SYN carries the same ISN and stays in its session.
        if (p.syn() && !p.ack_flag()) {
            const bool other_isn = s.has(session_flags::kSynSeen) && p.seq != it->second.client_isn;
            if (closed || other_isn || !(src == s.client)) {
                idx = start_session(p, key, ts_ns);
            } else if (!s.has(session_flags::kSynSeen)) {
                it->second.client_isn = p.seq;
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
        if (!(s.flags & (session_flags::kFinSeen | session_flags::kRstSeen)) &&
            now_ns - s.last_ns <= idle_ns) {
            ++n;
        }
    }
    return n;
}

}  // namespace tcpr::session
