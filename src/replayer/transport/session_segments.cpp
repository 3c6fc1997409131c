// SessionDriver's segments: the packets it sends (SYN, data within the target's window and the
// congestion window, ACKs, FIN, RST) and the intercept reports it reads (the target's SYN-ACK,
// ACKs, data, closes). The session's progress through its requests and its timers are in
// session_driver.cpp.
#include <algorithm>
#include <limits>

#include "common/net/packet_builder.h"
#include "common/net/packet_view.h"
#include "common/net/tcp_seq.h"
#include "replayer/schedule/scheduler.h"
#include "replayer/transport/session_driver.h"

namespace tcpr::replay {
namespace {

using net::seq_diff;
using net::seq_ge;
using net::seq_gt;
using net::seq_le;
using net::seq_lt;
using net::tcp_flags::kAck;
using net::tcp_flags::kFin;
using net::tcp_flags::kPsh;
using net::tcp_flags::kRst;
using net::tcp_flags::kSyn;

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kMaxCwnd = 1u << 30;
constexpr int32_t kRstWindow = 1 << 30;

uint64_t ms_to_ns(uint32_t ms) { return uint64_t{ms} * 1'000'000; }

}  // namespace

// ---- output ---------------------------------------------------------------------------------

void SessionDriver::emit(DriverEnv& env, uint8_t flags, uint32_t seq, uint32_t len,
                         bool syn_options) {
    const RecordedSession& s = rs(env);
    net::TcpSegmentSpec spec;
    spec.src = client_;
    spec.dst = env.config.target;
    spec.seq = seq;
    spec.flags = flags;
    if (flags & kAck) {
        spec.ack = rcv_nxt_ + (target_fin_ ? 1u : 0u);
    }
    spec.window = env.config.window;
    if (syn_options) {
        spec.mss = s.mss != 0 ? s.mss : env.config.syn_mss;
        spec.window_scale = env.config.window_scale;
    }
    if (len > 0) {
        // Stream offset of the first byte: seq - (iss + 1).
        const uint32_t off = seq - (iss_ + 1);
        spec.payload = env.feed != nullptr ? env.feed->bytes(session_, off, len)
                                           : env.recording.stream(s).subspan(off, len);
    }
    spec.ip_id = env.ip_id++;
    env.scratch.clear();
    const size_t n = net::build_tcp_packet(spec, env.scratch);
    switch (env.sink.send(env.scratch)) {
        case net::SendStatus::Sent:
            ++env.counters.packets_sent;
            env.counters.bytes_sent += n;
            env.counters.payload_bytes_sent += len;
            break;
        case net::SendStatus::WouldBlock:
            ++env.counters.send_would_block;
            break;
        case net::SendStatus::Refused:
            ++env.counters.send_refused;
            break;
        case net::SendStatus::Failed:
            ++env.counters.send_failed;
            break;
    }
    if (flags & kAck) {
        ack_pending_ = false;
        ack_now_ = false;
        rcv_acked_ = spec.ack;
    }
}

void SessionDriver::send_syn(DriverEnv& env) { emit(env, kSyn, iss_, 0, true); }

void SessionDriver::send_data(DriverEnv& env, uint64_t now, bool probe) {
    if (state_ != State::Open) {
        return;
    }
    while (snd_nxt_ < send_limit_) {
        const uint32_t window = std::min(snd_wnd_, cwnd_);
        const uint32_t room = window > in_flight() ? window - in_flight() : 0;
        const uint32_t left = send_limit_ - snd_nxt_;
        uint32_t len = std::min<uint32_t>({mss_, left, room});
        if (len == 0) {
            if (!(probe && in_flight() == 0)) {
                break;
            }
            len = 1;  // zero-window probe
        } else if (len < mss_ && len < left && in_flight() > 0) {
            break;  // avoid silly small segments while data is in flight (RFC 9293 3.8.6.2.1)
        }
        if (snd_nxt_ < snd_max_) {
            ++env.counters.retransmissions;
            if (rexmit_pending_) {
                rexmits_ = static_cast<uint8_t>(std::min(rexmits_ + 1, 255));
            }
        } else if (!probing_) {
            probing_ = true;  // time this new segment until its ACK is reported
            probe_end_ = snd_nxt_ + len;
            probe_at_ = now;
        }
        const bool last = snd_nxt_ + len == send_limit_;
        emit(env, kAck | (last ? kPsh : 0), iss_ + 1 + snd_nxt_, len, false);
        if (last && sent_at_ == 0 && phase_ == Phase::Request) {
            sent_at_ = now;
        }
        snd_nxt_ += len;
        snd_max_ = std::max(snd_max_, snd_nxt_);
        if (rto_at_ == 0) {
            rto_at_ = now + ms_to_ns(rto_ms_);
        }
        if (probe) {
            break;
        }
    }
    // Our FIN goes out once every byte before it was sent.
    if (fin_sent_ && !fin_out_ && snd_nxt_ == fin_off_) {
        emit(env, kFin | kAck, fin_seq(), 0, false);
        fin_out_ = true;
        if (rto_at_ == 0) {
            rto_at_ = now + ms_to_ns(rto_ms_);
        }
    }
    // Persist timer: data waits for a window that is closed and nothing is in flight.
    if (rto_at_ == 0 && snd_nxt_ < send_limit_ && in_flight() == 0) {
        rto_at_ = now + ms_to_ns(rto_ms_);
    }
}

void SessionDriver::reset(DriverEnv& env) {
    if (state_ == State::SynSent) {
        emit(env, kRst, iss_ + 1, 0, false);
        return;
    }
    if (state_ != State::Open) {
        return;
    }
    // A target takes a RST only at exactly its next expected sequence number (RFC 5961 3.2);
    // without fresh reports we do not know whether that is our first unacknowledged byte or
    // the end of what we sent: reset at both.
    const uint32_t fin = fin_out_ ? 1u : 0u;
    const uint32_t high = iss_ + 1 + snd_max_ + fin;
    const uint32_t low = iss_ + 1 + snd_una_ + (fin_acked_ ? 1u : 0u);
    emit(env, kRst | kAck, high, 0, false);
    if (low != high) {
        emit(env, kRst | kAck, low, 0, false);
    }
}

// ---- input ----------------------------------------------------------------------------------

void SessionDriver::on_report(DriverEnv& env, const wire::Report& r, uint64_t now,
                              uint64_t sent_at) {
    if (finished() || state_ == State::Idle) {
        return;
    }
    if (state_ == State::SynSent) {
        const bool acks_syn = (r.flags & kAck) && r.ack == iss_ + 1;
        if ((r.flags & kRst) && acks_syn) {
            finish(env, now, Outcome::ResetByTarget);  // port closed / refused
            return;
        }
        if ((r.flags & kAck) && !(r.flags & kRst) && !acks_syn) {
            // The target still holds this tuple (TIME_WAIT, or a connection a killed run left
            // open) and answers our SYN with an ACK of that old connection. As a client stack
            // does (RFC 9293 3.10.7.3), reset it at the sequence number it acknowledges, which
            // is exactly what it expects, so it drops the old connection; then our SYN again.
            emit(env, kRst, r.ack, 0, false);
            if (!tuple_reset_) {
                tuple_reset_ = true;
                ++env.counters.syn_tuple_in_use;
            }
            if (retries_ < 2) {  // at once, twice at most; after that the SYN timer retries
                ++retries_;
                send_syn(env);
                ++env.counters.syn_retransmissions;
                probing_ = false;
            }
            return;
        }
        if ((r.flags & kSyn) && acks_syn) {
            irs_ = r.seq;
            rcv_nxt_ = irs_ + 1;
            const uint16_t fallback = client_.addr.version == 6 ? 1220 : 536;
            mss_ = std::min<uint16_t>(r.mss != 0 ? r.mss : fallback, env.config.max_segment);
            mss_ = std::max<uint16_t>(mss_, 64);
            snd_shift_ =
                (r.window_scale <= 14 && env.config.window_scale <= 14) ? r.window_scale : 0;
            snd_wnd_ = r.window;  // never scaled in a SYN-ACK
            cwnd_ = env.config.initial_cwnd_segments * uint32_t{mss_};
            if (retries_ == 0 && now > syn_at_) {
                rtt_sample(env.config, now - syn_at_);  // Karn: only an unretransmitted SYN
            }
            retries_ = 0;
            rto_at_ = 0;
            state_ = State::Open;
            last_progress_ = now;
            // The handshake's ACK leaves at flush(): on the first request's first segment
            // when that is due now (one packet fewer per session), else alone.
            ack_pending_ = true;
            ack_now_ = true;
            req_ = 0;
            if (rs(env).request_count == 0 && rs(env).open) {
                phase_ = Phase::Think;  // live: the client has not sent its first request yet
                phase_at_ = now;
            } else if (rs(env).request_count == 0) {
                phase_ = Phase::CloseThink;
                phase_at_ = now + scale_time(rs(env).close_think_ns, env.config.speed_milli);
            } else {
                phase_ = Phase::Think;
                phase_at_ = now + scale_time(request(env).think_ns, env.config.speed_milli);
            }
        }
        return;
    }
    // Open.
    if (r.flags & kRst) {
        if (seq_diff(r.seq, rcv_nxt_) < -65536 || seq_diff(r.seq, rcv_nxt_) > kRstWindow) {
            return;  // not plausibly for this connection
        }
        const bool done = phase_ == Phase::CloseThink || phase_ == Phase::FinWait;
        finish(env, now, done ? Outcome::Completed : Outcome::ResetByTarget);
        return;
    }
    if (r.flags & kSyn) {
        ack_pending_ = true;  // SYN-ACK again: our handshake ACK was lost
        ack_now_ = true;
        return;
    }
    if (r.flags & kAck) {
        on_ack(env, r, now);
    }
    if (r.payload_len > 0 || (r.flags & kFin)) {
        on_data(env, r, now, sent_at == 0 || sent_at > now ? now : sent_at);
    }
    // Decisions (answer done, next request, close) wait for flush(): the whole batch of
    // reports is seen first, e.g. an answer and the FIN that follows it.
}

void SessionDriver::on_ack(DriverEnv& env, const wire::Report& r, uint64_t now) {
    const uint32_t una_seq = iss_ + 1 + snd_una_;
    const uint32_t max_seq = iss_ + 1 + snd_max_ + (fin_out_ ? 1u : 0u);
    const uint32_t wnd = static_cast<uint32_t>(r.window) << snd_shift_;
    if (seq_gt(r.ack, una_seq) && seq_le(r.ack, max_seq)) {
        const uint32_t acked = r.ack - una_seq;
        if (fin_out_ && r.ack == fin_seq() + 1) {
            fin_acked_ = true;
            snd_una_ = fin_off_;
            phase_at_ = now + env.config.fin_wait_ns;
        } else {
            snd_una_ += acked;
        }
        snd_nxt_ = std::max(snd_nxt_, snd_una_);
        if (probing_ && snd_una_ >= probe_end_) {
            probing_ = false;
            rtt_sample(env.config, now - probe_at_);
        }
        cwnd_ = std::min(kMaxCwnd, cwnd_ + std::min<uint32_t>(acked, mss_));
        if (rexmit_check_) {
            rexmit_check_ = false;  // no duplicate ACK came: they were needed
            rexmits_ = 0;
        }
        if (rexmit_pending_) {
            classify_retransmission();
        }
        retries_ = 0;
        dupacks_ = 0;
        last_progress_ = now;
        const bool outstanding = snd_una_ < snd_max_ || (fin_out_ && !fin_acked_);
        rto_at_ = outstanding ? now + ms_to_ns(rto_ms_) : 0;
        if (phase_ == Phase::Request && snd_una_ >= send_limit_) {
            last_data_at_ = std::max(last_data_at_, now);  // quiet counts from the full ack
        }
    } else if (rexmit_check_ && r.ack == una_seq && r.payload_len == 0 && !(r.flags & kFin) &&
               wnd == snd_wnd_) {
        // The target acknowledged our retransmitted bytes twice: once for the originals,
        // again (a duplicate ACK, sent at once for a repeated segment) for our copies.
        env.counters.retransmissions_spurious += rexmits_;
        rexmit_check_ = false;
        rexmits_ = 0;
    } else if (r.ack == una_seq && r.payload_len == 0 && !(r.flags & kFin) && snd_una_ < snd_max_ &&
               wnd == snd_wnd_) {
        if (++dupacks_ == 3) {
            // Fast retransmit (RFC 5681 3.2): resend the first unacknowledged segment.
            const uint32_t len = std::min<uint32_t>(mss_, snd_max_ - snd_una_);
            emit(env, kAck, una_seq, len, false);
            ++env.counters.retransmissions;
            probing_ = false;  // Karn: no sample across a retransmission
            cwnd_ = std::max<uint32_t>(cwnd_ / 2, 2u * mss_);
        }
    }
    if (seq_ge(r.ack, una_seq)) {
        snd_wnd_ = wnd;
    }
    send_data(env, now, false);
}

void SessionDriver::on_data(DriverEnv& env, const wire::Report& r, uint64_t now, uint64_t sent_at) {
    const uint32_t end = r.seq + r.payload_len;
    // Also repeated and late bytes: the digest keeps its own order.
    const uint32_t filled = r.payload_len > 0 && answer_ ? digest_data(r) : 0;
    if (r.payload_len > 0) {
        if (!seq_gt(end, rcv_nxt_)) {
            ack_now_ = true;  // a repeated segment: our ACK was lost or is late
            // Or the original of bytes counted unseen, overtaken on the way to intercept.
            env.counters.response_bytes_unseen -=
                std::min<uint64_t>(filled, env.counters.response_bytes_unseen);
        } else {
            if (seq_gt(r.seq, rcv_nxt_)) {
                // Intercept did not report the bytes before (capture drop) although the target
                // sent them: they are acknowledged too, the target already moved on.
                env.counters.response_bytes_unseen += r.seq - rcv_nxt_;
                ack_now_ = true;
            }
            if (phase_ == Phase::Request && !status_checked_) {
                check_status(env, r);
            }
            if (phase_ == Phase::Request && sent_at_ != 0) {
                // Latency as the target sent the answer (the report's wait in intercept
                // removed); never before our request left.
                const uint32_t us = latency_us(sent_at >= sent_at_ ? sent_at - sent_at_ : 0);
                first_us_ = first_us_ == kNoLatency ? us : first_us_;
                // A merged report (wire::kFeatureMerge): its last segment was sent span_ns later.
                const uint64_t last_at = std::min(now, sent_at + r.span_ns);
                last_us_ = latency_us(last_at >= sent_at_ ? last_at - sent_at_ : 0);
            }
            env.counters.response_bytes += end - rcv_nxt_;
            rcv_nxt_ = end;
            last_data_at_ = now;
            last_progress_ = now;
        }
        ack_pending_ = true;  // new data, or a retransmission our ACK should stop
    }
    if ((r.flags & kFin) && seq_ge(end, rcv_nxt_)) {
        rcv_nxt_ = end;
        if (!target_fin_) {
            target_fin_ = true;
            last_progress_ = now;
        }
        ack_pending_ = true;
        ack_now_ = true;
    }
}

void SessionDriver::Answer::reset(uint32_t start) {
    head.clear();
    base = start;
    next = 0;
    ahead.clear();
    ahead_bytes = 0;
}

// Bytes at answer offset `offset` (in order: offset <= next) into the digest and the head.
void SessionDriver::Answer::take(uint32_t offset, std::span<const uint8_t> bytes) {
    if (offset + bytes.size() <= next) {
        return;
    }
    bytes = bytes.subspan(next - offset);
    digest.add(bytes);
    const size_t keep = std::min(kHeadBytes - std::min(kHeadBytes, head.size()), bytes.size());
    head.insert(head.end(), bytes.begin(), bytes.begin() + static_cast<long>(keep));
    next += static_cast<uint32_t>(bytes.size());
}

// One data report into the current answer's digest, in sequence order: a segment past a hole
// waits (the hole is usually a segment reordered on the way to intercept, its original comes
// next); one intercept's capture cut (its snaplen), or too much waiting, loses the digest.
// Returns how many of the report's bytes filled the digest's next place (a late original of
// bytes already passed over fills a hole).
uint32_t SessionDriver::digest_data(const wire::Report& r) {
    Answer& a = *answer_;
    if (!a.digest.known()) {
        return 0;
    }
    if (r.payload_head.size() < r.payload_len) {
        a.digest.lose();
        return 0;
    }
    const uint32_t end = r.seq + r.payload_len - a.base;
    if (seq_lt(r.seq, a.base) && !seq_gt(r.seq + r.payload_len, a.base)) {
        return 0;  // bytes of an earlier answer
    }
    const uint32_t offset = seq_lt(r.seq, a.base) ? 0 : r.seq - a.base;
    const auto bytes =
        std::span<const uint8_t>(r.payload_head).subspan(r.payload_len - (end - offset));
    if (end <= a.next) {
        return 0;  // repeated
    }
    if (offset > a.next) {
        if (a.ahead_bytes + bytes.size() > Answer::kMaxAhead) {
            a.digest.lose();
            return 0;
        }
        auto& kept = a.ahead[offset];
        if (kept.size() < bytes.size()) {
            a.ahead_bytes += bytes.size() - kept.size();
            kept.assign(bytes.begin(), bytes.end());
        }
        return 0;
    }
    const uint32_t filled = end - a.next;
    a.take(offset, bytes);
    while (!a.ahead.empty() && a.ahead.begin()->first <= a.next) {
        a.take(a.ahead.begin()->first, a.ahead.begin()->second);
        a.ahead_bytes -= a.ahead.begin()->second.size();
        a.ahead.erase(a.ahead.begin());
    }
    return filled;
}

void SessionDriver::check_status(DriverEnv& env, const wire::Report& r) {
    const uint32_t end = r.seq + r.payload_len;
    if (seq_gt(r.seq, resp_start_)) {
        status_checked_ = true;  // the answer's first bytes were never reported
        ++env.counters.status_unknown;
        return;
    }
    if (!seq_lt(resp_start_, end)) {
        return;
    }
    const uint32_t off = resp_start_ - r.seq;
    status_checked_ = true;
    const RecordedRequest req = request(env);
    std::string_view expected;
    if (env.feed != nullptr) {
        const auto live = env.feed->status_line(session_, req_);
        if (!live && off < r.payload_head.size()) {
            // The target answered before the online server: the feed compares later.
            const auto head = std::span<const uint8_t>(r.payload_head).subspan(off);
            std::string got = first_line(head);
            const bool cut = got.size() == head.size();
            env.feed->compare_later(session_, req_, client_, std::move(got), cut);
            return;
        }
        expected = live.value_or(std::string_view());
    } else {
        expected = env.recording.status_line(req);
    }
    if (off >= r.payload_head.size() || expected.empty()) {
        ++env.counters.status_unknown;
        return;
    }
    const auto head = std::span<const uint8_t>(r.payload_head).subspan(off);
    const std::string got = first_line(head);
    // A line cut by the end of the reported head compares on what was reported.
    const bool cut = got.size() == head.size();
    const bool same = cut ? expected.substr(0, got.size()) == got : expected == got;
    if (same) {
        ++env.counters.status_match;
        return;
    }
    ++env.counters.status_mismatch;
    status_bad_ = true;
    if (env.counters.mismatch_examples.size() < ReplayCounters::kMaxExamples) {
        env.counters.mismatch_examples.push_back(
            {client_.to_string(), session_, req_, std::string(expected), got});
    }
}

void SessionDriver::flush(DriverEnv& env, uint64_t now) {
    pump(env, now);
    send_ack_if_due(env, now);
}

// A delayed ACK waits only while the answer is exactly as long as recorded (or as what the
// online server sent so far): shorter, the target may be waiting for the ACK to send more (its
// congestion window, Nagle); longer, it may hold back a tail the same way, which must arrive
// within the settle period, not after the next request. It waits at least the settle period,
// so the next request can carry it; while it covers one segment at most, as long as a Linux
// client would (DriverConfig::single_segment_ack_ns).
uint64_t SessionDriver::ack_deadline(const DriverEnv& env) const {
    uint64_t delay = env.config.delayed_ack_ns;
    if (phase_ == Phase::Request && !target_fin_) {
        const uint32_t received = rcv_nxt_ - resp_start_;
        if (received != response_len(env)) {
            return 0;
        }
        delay = std::max(delay, settle_ns(env));
    }
    if ((phase_ == Phase::Request || phase_ == Phase::Think) && !target_fin_ &&
        rcv_nxt_ - rcv_acked_ <= mss_) {
        delay = std::max(delay, env.config.single_segment_ack_ns);
    }
    return last_data_at_ + delay;
}

void SessionDriver::send_ack_if_due(DriverEnv& env, uint64_t now) {
    if (!ack_pending_ || state_ != State::Open) {
        return;
    }
    if (ack_now_ || env.config.delayed_ack_ns == 0 || rcv_nxt_ - rcv_acked_ >= 2u * mss_ ||
        now >= ack_deadline(env)) {
        emit(env, kAck, iss_ + 1 + snd_nxt_ + (fin_out_ ? 1u : 0u), 0, false);
    }
}

}  // namespace tcpr::replay
