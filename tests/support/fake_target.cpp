#include "support/fake_target.h"

#include <algorithm>
#include <limits>

#include "common/net/checksum.h"
#include "common/net/packet_view.h"
#include "common/net/tcp_seq.h"

namespace tcpr::test {
namespace {

using net::tcp_flags::kAck;
using net::tcp_flags::kFin;
using net::tcp_flags::kPsh;
using net::tcp_flags::kRst;
using net::tcp_flags::kSyn;

void syn_options(std::span<const uint8_t> p, const net::PacketView& v, uint16_t& mss, uint8_t& ws) {
    size_t i = v.l4_offset + 20u;
    const size_t end = v.l4_offset + v.tcp_header_len;
    while (i < end && i < p.size()) {
        const uint8_t kind = p[i];
        if (kind == 0) {
            break;
        }
        if (kind == 1) {
            ++i;
            continue;
        }
        if (i + 1 >= end) {
            break;
        }
        const uint8_t len = p[i + 1];
        if (len < 2) {
            break;
        }
        if (kind == 2 && len == 4) {
            mss = static_cast<uint16_t>((p[i + 2] << 8) | p[i + 3]);
        } else if (kind == 3 && len == 3) {
            ws = p[i + 2];
        }
        i += len;
    }
}

}  // namespace

FakeTarget::FakeTarget(FakeTargetConfig config)
    : cfg_(std::move(config)), time_wait_(cfg_.time_wait_rcv_nxt) {}

const FakeTarget::Connection* FakeTarget::connection(const net::Endpoint& client) const {
    auto it = conns_.find(client);
    return it == conns_.end() ? nullptr : &it->second;
}

void FakeTarget::reply(Connection& c, uint8_t flags, uint32_t seq, std::span<const uint8_t> payload,
                       bool with_syn_options, uint64_t extra_delay_ns) {
    wire::Report r;
    // A packet leaves no earlier than the ones sent before it on this connection.
    const uint64_t due = std::max(now_ + extra_delay_ns + 2 * cfg_.one_way_delay_ns, c.last_due);
    c.last_due = due;
    r.ts_ns = due - cfg_.one_way_delay_ns;
    r.tuple = {c.client, cfg_.address};
    r.seq = seq;
    r.ack = (flags & kAck) ? c.rcv_nxt + (c.got_fin ? 1u : 0u) : 0;
    r.flags = flags;
    const bool scaled = !with_syn_options && cfg_.window_scale <= 14 && c.client_wscale <= 14;
    const uint32_t field = scaled ? cfg_.window >> cfg_.window_scale : cfg_.window;
    r.window = static_cast<uint16_t>(std::min<uint32_t>(field, 65535));
    if (with_syn_options) {
        r.mss = cfg_.mss;
        r.window_scale = cfg_.window_scale;
    }
    r.payload_len = static_cast<uint32_t>(payload.size());
    const size_t head =
        cfg_.full_payloads ? payload.size() : std::min(payload.size(), wire::kMaxPayloadHead);
    r.payload_head.assign(payload.begin(), payload.begin() + static_cast<long>(head));
    const uint64_t index = reports_made_++;
    // Intercept delivers reports in capture order; one held up holds up those behind it.
    const uint64_t late = cfg_.late_reports.count(index) != 0 ? cfg_.late_by_ns : 0;
    const uint64_t deliver = std::max(due + late, c.last_delivery);
    c.last_delivery = deliver;
    if (cfg_.drop_reports.count(index) == 0) {
        auto at = std::upper_bound(outbox_.begin(), outbox_.end(), deliver,
                                   [](uint64_t t, const Pending& p) { return t < p.due; });
        outbox_.insert(at, {deliver, std::move(r)});
    }
}

void FakeTarget::answer(Connection& c, const std::string& status) {
    const size_t i = c.requests_answered;
    const size_t size = cfg_.response_lengths[i];
    std::vector<uint8_t> body(size, 0);
    for (size_t k = 0; k < size; ++k) {
        body[k] = static_cast<uint8_t>('a' + (k + i) % 26);
    }
    std::copy_n(status.begin(), std::min(status.size(), size), body.begin());
    c.sent.insert(c.sent.end(), body.begin(), body.end());
}

void FakeTarget::send_answers(Connection& c) {
    const uint32_t end = cfg_.isn + 1 + static_cast<uint32_t>(c.sent.size());
    if (c.snd_una == c.snd_nxt && net::seq_lt(c.snd_nxt, end)) {
        c.unacked_since = now_;
    }
    const uint32_t piece = cfg_.answer_segment != 0
                               ? std::min<uint32_t>(cfg_.answer_segment, c.client_mss)
                               : c.client_mss;
    uint64_t delay = 0;
    while (net::seq_lt(c.snd_nxt, end)) {
        const uint32_t off = c.snd_nxt - (cfg_.isn + 1);
        const uint32_t len = std::min<uint32_t>(piece, end - c.snd_nxt);
        const bool last = c.snd_nxt + len == end;
        reply(c, kAck | (last ? kPsh : 0), c.snd_nxt,
              std::span<const uint8_t>(c.sent.data() + off, len), false, delay);
        c.snd_nxt += len;
        delay += cfg_.answer_gap_ns;
    }
}

net::SendStatus FakeTarget::send(std::span<const uint8_t> packet) {
    const uint64_t index = packets_++;
    if (cfg_.drop_client_packets.count(index) != 0) {
        return net::SendStatus::Sent;  // lost on the way
    }
    const net::DecodeResult d = net::decode(net::LinkType::Raw, packet);
    if (!d.ok()) {
        error("undecodable packet #" + std::to_string(index));
        return net::SendStatus::Sent;
    }
    const net::PacketView& v = d.packet();
    if (v.dst != cfg_.address.addr || v.dport != cfg_.address.port) {
        error("packet not addressed to the target");
        return net::SendStatus::Sent;
    }
    if (v.src.version == 4 &&
        net::ipv4_header_checksum(packet.subspan(v.l3_offset, v.l4_offset - v.l3_offset)) != 0) {
        error("bad IPv4 header checksum on packet #" + std::to_string(index));
    }
    if (v.ip_len != packet.size() - v.l3_offset) {
        error("IP length does not match the packet");
    }
    if (net::tcp_checksum(v.src, v.dst, packet.subspan(v.l4_offset)) != 0) {
        error("bad TCP checksum on packet #" + std::to_string(index));
    }
    const net::Endpoint client{v.src, v.sport};
    const auto payload = packet.subspan(v.payload_offset, v.payload_len);
    auto it = conns_.find(client);

    if (time_wait_ && it == conns_.end()) {
        if (v.rst() && v.seq == *time_wait_) {
            time_wait_.reset();  // the old connection is gone
            ++time_wait_resets_;
            return net::SendStatus::Sent;
        }
        if (v.syn() && !v.ack_flag() && !net::seq_gt(v.seq, *time_wait_)) {
            Connection old;
            old.client = client;
            old.rcv_nxt = *time_wait_;
            reply(old, kAck, cfg_.isn + 12345, {});
            ++time_wait_acks_;
            return net::SendStatus::Sent;
        }
        if (v.syn() && !v.ack_flag()) {
            time_wait_.reset();  // beyond the old connection: a new one (RFC 6191)
        }
    }
    if (v.syn() && !v.ack_flag()) {
        if (cfg_.refuse) {
            Connection tmp;
            tmp.client = client;
            tmp.rcv_nxt = v.seq + 1;
            reply(tmp, kRst | kAck, 0, {});
            return net::SendStatus::Sent;
        }
        if (it != conns_.end()) {
            if (it->second.state == State::SynReceived && it->second.client_isn == v.seq) {
                reply(it->second, kSyn | kAck, cfg_.isn, {}, true);  // SYN retransmitted
            } else {
                error("SYN for a live 4-tuple " + client.to_string());
            }
            return net::SendStatus::Sent;
        }
        Connection c;
        c.client = client;
        c.client_isn = v.seq;
        c.rcv_nxt = v.seq + 1;
        syn_options(packet, v, c.client_mss, c.client_wscale);
        c.client_mss = std::min<uint16_t>(c.client_mss, cfg_.mss == 0 ? 536 : cfg_.mss);
        c.snd_una = cfg_.isn;
        c.snd_nxt = cfg_.isn + 1;
        c.unacked_since = now_;
        auto [pos, inserted] = conns_.emplace(client, std::move(c));
        reply(pos->second, kSyn | kAck, cfg_.isn, {}, true);
        return net::SendStatus::Sent;
    }
    if (it == conns_.end()) {
        if (!v.rst()) {
            error("segment for an unknown connection from " + client.to_string());
        }
        return net::SendStatus::Sent;
    }
    Connection& c = it->second;
    if (c.silent || c.state == State::Reset || c.state == State::Closed) {
        if (v.rst()) {
            c.got_rst = true;
        }
        return net::SendStatus::Sent;
    }
    if (v.rst()) {
        c.got_rst = true;
        c.state = State::Reset;
        return net::SendStatus::Sent;
    }
    if (v.syn()) {
        error("SYN flag on an established connection");
        return net::SendStatus::Sent;
    }
    if (v.ack_flag()) {
        if (c.state == State::SynReceived && v.ack == cfg_.isn + 1) {
            c.state = State::Established;
            c.snd_una = v.ack;
        }
        if (net::seq_gt(v.ack, c.snd_nxt)) {
            error("ACK for data never sent");
        } else if (net::seq_gt(v.ack, c.snd_una)) {
            c.snd_una = v.ack;
            c.unacked_since = now_;
            if (c.state == State::FinSent && c.snd_una == c.snd_nxt) {
                c.fin_acked = true;
                if (c.got_fin) {
                    c.state = State::Closed;
                }
            }
        }
        if (c.client_wscale <= 14 && cfg_.window_scale <= 14) {
            c.client_window = static_cast<uint32_t>(v.window) << c.client_wscale;
        } else {
            c.client_window = v.window;
        }
    }
    bool acked = false;
    if (v.payload_len > 0) {
        ++c.data_packets;
        c.max_segment_seen = std::max(c.max_segment_seen, v.payload_len);
        if (net::seq_diff(v.seq + v.payload_len, c.rcv_nxt) > static_cast<int32_t>(cfg_.window)) {
            error("data beyond the advertised window");
        }
        if (v.payload_len > (cfg_.mss == 0 ? 536u : cfg_.mss)) {
            error("segment larger than the MSS: " + std::to_string(v.payload_len));
        }
        const int32_t rel = net::seq_diff(v.seq, c.rcv_nxt);
        if (rel > 0) {
            ++c.out_of_order;  // a hole before it: not kept (no reassembly queue)
        } else if (-rel >= static_cast<int32_t>(v.payload_len)) {
            ++c.duplicates;
        } else {
            const auto fresh = payload.subspan(static_cast<size_t>(-rel));
            c.received.insert(c.received.end(), fresh.begin(), fresh.end());
            c.rcv_nxt += static_cast<uint32_t>(fresh.size());
            // Answer every request that is complete now.
            uint64_t need = 0;
            for (size_t i = 0; i <= c.requests_answered && i < cfg_.request_lengths.size(); ++i) {
                need += cfg_.request_lengths[i];
            }
            while (c.requests_answered < cfg_.request_lengths.size() &&
                   c.requests_answered < cfg_.response_lengths.size() &&
                   c.received.size() >= need) {
                const size_t i = c.requests_answered;
                if (cfg_.reset_after_request && *cfg_.reset_after_request == i) {
                    reply(c, kRst | kAck, c.snd_nxt, {});
                    c.state = State::Reset;
                    return net::SendStatus::Sent;
                }
                if (cfg_.silent_after_request && *cfg_.silent_after_request <= i) {
                    c.silent = true;
                    return net::SendStatus::Sent;
                }
                answer(c, i < cfg_.status_lines.size() ? cfg_.status_lines[i]
                                                       : std::string("HTTP/1.1 200 OK\r\n"));
                ++c.requests_answered;
                if (c.requests_answered < cfg_.request_lengths.size()) {
                    need += cfg_.request_lengths[c.requests_answered];
                }
            }
            const uint32_t before = c.snd_nxt;
            send_answers(c);
            acked = c.snd_nxt != before;
        }
    }
    if (v.fin() && v.seq + v.payload_len == c.rcv_nxt && !c.got_fin) {
        c.got_fin = true;
        if (c.state != State::FinSent) {
            // Our side closes at once: FIN|ACK, like a server that sees EOF and closes.
            reply(c, kFin | kAck, c.snd_nxt, {});
            c.snd_nxt += 1;
            c.state = State::FinSent;
            c.unacked_since = now_;
        } else {
            reply(c, kAck, c.snd_nxt, {});
            if (c.fin_acked) {
                c.state = State::Closed;
            }
        }
        acked = true;
    }
    if (cfg_.close_after_last && c.state == State::Established &&
        c.requests_answered == cfg_.request_lengths.size() && !cfg_.request_lengths.empty()) {
        reply(c, kFin | kAck, c.snd_nxt, {});
        c.snd_nxt += 1;
        c.state = State::FinSent;
        acked = true;
    }
    if (!acked && (v.payload_len > 0 || v.fin())) {
        reply(c, kAck, c.snd_nxt, {});  // pure ACK (or duplicate ACK for a hole)
    }
    return net::SendStatus::Sent;
}

void FakeTarget::tick(uint64_t now_ns) {
    now_ = std::max(now_, now_ns);
    for (auto& [client, c] : conns_) {
        if (c.silent || c.state == State::Reset || c.state == State::Closed ||
            c.snd_una == c.snd_nxt || now_ < c.unacked_since + cfg_.rto_ns) {
            continue;
        }
        c.unacked_since = now_;
        if (c.state == State::SynReceived) {
            reply(c, kSyn | kAck, cfg_.isn, {}, true);
            continue;
        }
        // Go back to the first unacknowledged byte.
        const uint32_t data_end = cfg_.isn + 1 + static_cast<uint32_t>(c.sent.size());
        for (uint32_t s = c.snd_una; net::seq_lt(s, data_end);) {
            const uint32_t off = s - (cfg_.isn + 1);
            const uint32_t len = std::min<uint32_t>(c.client_mss, data_end - s);
            reply(c, kAck, s, std::span<const uint8_t>(c.sent.data() + off, len));
            s += len;
        }
        if (c.state == State::FinSent && !c.fin_acked) {
            reply(c, kFin | kAck, data_end, {});
        }
    }
}

std::vector<wire::Report> FakeTarget::take_reports(uint64_t now_ns) {
    now_ = std::max(now_, now_ns);
    std::vector<wire::Report> out;
    while (!outbox_.empty() && outbox_.front().due <= now_ns) {
        out.push_back(std::move(outbox_.front().report));
        outbox_.pop_front();
    }
    return out;
}

uint64_t FakeTarget::next_event() const {
    uint64_t t = std::numeric_limits<uint64_t>::max();
    if (!outbox_.empty()) {
        t = outbox_.front().due;
    }
    for (const auto& [client, c] : conns_) {
        if (!c.silent && c.state != State::Reset && c.state != State::Closed &&
            c.snd_una != c.snd_nxt) {
            t = std::min(t, c.unacked_since + cfg_.rto_ns);
        }
    }
    return t;
}

}  // namespace tcpr::test
