#include "replayer/transport/session_driver.h"

#include <algorithm>
#include <limits>

#include "common/net/packet_builder.h"
#include "common/net/packet_view.h"
#include "common/net/tcp_seq.h"
#include "replayer/schedule/scheduler.h"

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
uint32_t ns_to_ms(uint64_t ns) {
    return static_cast<uint32_t>(std::min<uint64_t>(ns / 1'000'000, 0xffffffffu));
}

}  // namespace

const char* to_string(Outcome o) {
    switch (o) {
        case Outcome::Running:
            return "running";
        case Outcome::Completed:
            return "completed";
        case Outcome::ResetByTarget:
            return "reset by target";
        case Outcome::TimedOut:
            return "timed out";
        case Outcome::Aborted:
            return "aborted";
    }
    return "?";
}

SessionDriver::SessionDriver(uint32_t session, const net::Endpoint& client, uint32_t isn)
    : client_(client), session_(session), iss_(isn) {}

const RecordedSession& SessionDriver::rs(const DriverEnv& env) const {
    return env.recording.sessions[session_];
}

RecordedRequest SessionDriver::request(const DriverEnv& env) const {
    if (env.feed != nullptr) {
        return env.feed->request(session_, req_);
    }
    return env.recording.requests_of(rs(env))[req_];
}

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

// ---- lifecycle ------------------------------------------------------------------------------

void SessionDriver::start(DriverEnv& env, uint64_t now) {
    state_ = State::SynSent;
    syn_at_ = now;
    last_progress_ = now;
    rto_ms_ = ns_to_ms(env.config.rto_initial_ns);
    rto_at_ = now + ms_to_ns(rto_ms_);
    ++env.counters.sessions_started;
    send_syn(env);
}

void SessionDriver::finish(DriverEnv& env, uint64_t /*now*/, Outcome outcome) {
    if (finished()) {
        return;
    }
    outcome_ = outcome;
    const uint32_t count = rs(env).request_count;
    if (outcome != Outcome::Completed && req_ < count) {
        // The current request was sent if we were waiting for its answer.
        const uint32_t released = phase_ == Phase::Request && state_ == State::Open ? 1 : 0;
        env.counters.requests_unsent += count - req_ - released;
    }
    state_ = State::Closed;
    rto_at_ = 0;
    switch (outcome) {
        case Outcome::Completed:
            ++env.counters.sessions_completed;
            break;
        case Outcome::ResetByTarget:
            ++env.counters.sessions_reset;
            break;
        case Outcome::TimedOut:
            ++env.counters.sessions_timed_out;
            break;
        case Outcome::Aborted:
            ++env.counters.sessions_aborted;
            break;
        case Outcome::Running:
            break;
    }
}

void SessionDriver::abort(DriverEnv& env, uint64_t now, Outcome outcome) {
    if (finished()) {
        return;
    }
    reset(env);
    finish(env, now, outcome);
}

// ---- requests and answers -------------------------------------------------------------------

uint64_t SessionDriver::quiet_ns(const DriverEnv& env) const {
    const DriverConfig& c = env.config;
    const uint64_t rtt = rs(env).rtt_ns != 0 ? rs(env).rtt_ns : c.default_rtt_ns;
    const uint64_t measured = (uint64_t{srtt_us_} + 4u * uint64_t{rttvar_us_}) * 1000u * 2u;
    return std::clamp(std::max(rtt * c.quiet_rtt_factor, measured), c.quiet_min_ns, c.quiet_max_ns);
}

uint64_t SessionDriver::settle_ns(const DriverEnv& env) const {
    const uint64_t measured = (uint64_t{srtt_us_} + 4u * uint64_t{rttvar_us_}) * 1000u;
    return std::min(std::max(env.config.settle_min_ns, measured), quiet_ns(env));
}

void SessionDriver::release_request(DriverEnv& env, uint64_t now) {
    const RecordedRequest r = request(env);
    send_limit_ = std::max(send_limit_, r.begin + r.length);
    // A greeting (the answer to an empty first request: the server speaks first) starts at the
    // target's first byte, also when it arrived before the request was released.
    resp_start_ = req_ == 0 && r.length == 0 ? irs_ + 1 : rcv_nxt_;
    status_checked_ = false;
    phase_ = Phase::Request;
    last_progress_ = now;
    last_data_at_ = now;
    if (r.length > 0) {
        ++env.counters.requests_sent;
    }
    send_data(env, now, false);
}

void SessionDriver::response_done(DriverEnv& env, uint64_t now, bool by_quiet) {
    const RecordedRequest r = request(env);
    const uint32_t received = rcv_nxt_ - resp_start_;
    if (received > 0) {
        ++env.counters.responses_seen;
        if (!status_checked_ && r.response_len > 0) {
            ++env.counters.status_unknown;  // never saw the answer's first bytes
        }
    }
    if (r.response_len > 0 && received >= r.response_len) {
        ++env.counters.responses_complete;
    } else if (by_quiet) {
        ++env.counters.responses_quiet;
    }
    const bool unanswered = r.length > 0 && r.response_len > 0 && received == 0 && target_fin_;
    if (unanswered) {
        ++env.counters.requests_unanswered;  // the target closed without answering it
        ++env.counters.sessions_unanswered;  // once: the session ends here
    }
    ++req_;
    const uint32_t count = rs(env).request_count;
    if ((req_ < count || unanswered) && target_fin_) {
        // The target closed its side before the recording's client was done.
        ++env.counters.closed_early;
        env.counters.requests_unsent += count - req_;
        req_ = count;
    }
    if (req_ < count) {
        phase_ = Phase::Think;
        phase_at_ = now + scale_time(request(env).think_ns, env.config.speed_milli);
    } else if (rs(env).open) {
        phase_ = Phase::Think;  // live: the next request has not begun yet
        phase_at_ = now;
    } else {
        phase_ = Phase::CloseThink;
        phase_at_ =
            target_fin_ ? now : now + scale_time(rs(env).close_think_ns, env.config.speed_milli);
    }
}

bool SessionDriver::answer_complete(const DriverEnv& env, uint64_t now, bool& by_quiet) const {
    const RecordedRequest r = request(env);
    const uint32_t received = rcv_nxt_ - resp_start_;
    by_quiet = false;
    if (!answer_final(env)) {
        return target_fin_;  // live: the online server's answer may still grow
    }
    if (r.response_len == 0 || target_fin_) {
        return true;
    }
    if (received >= r.response_len) {
        // The target may send more than was recorded: its tail must not be read as the next
        // answer, so the answer ends only after a short pause.
        return now >= last_data_at_ + settle_ns(env);
    }
    if (received > 0 && snd_una_ >= send_limit_ && now >= last_data_at_ + quiet_ns(env)) {
        by_quiet = true;
        return true;
    }
    return false;
}

bool SessionDriver::answer_final(const DriverEnv& env) const {
    const RecordedSession& s = rs(env);
    return !s.open || req_ + 1 < s.request_count;
}

// Live: the current request may have grown (send its new bytes), and while the target has
// answered all the online server has so far, the copy waits on the live client, not on the
// target: no timeout runs (live_idle_), and it restarts when the online side moves on.
void SessionDriver::live_request(DriverEnv& env, uint64_t now) {
    const RecordedRequest r = request(env);
    if (r.begin + r.length > send_limit_) {
        send_limit_ = r.begin + r.length;
        send_data(env, now, false);
    }
    if (live_idle_) {
        last_progress_ = now;
    }
    const uint32_t received = rcv_nxt_ - resp_start_;
    live_idle_ = !answer_final(env) && received >= r.response_len && snd_una_ >= send_limit_;
}

void SessionDriver::send_fin(DriverEnv& env, uint64_t now) {
    fin_sent_ = true;
    fin_off_ = send_limit_;
    phase_ = Phase::FinWait;
    phase_at_ = 0;
    last_progress_ = now;
    send_data(env, now, false);
}

// Moves through every phase that is due now (no recursion: a session may hold thousands of
// requests with no think time).
void SessionDriver::pump(DriverEnv& env, uint64_t now) {
    for (int guard = 0; guard < 1'000'000 && state_ == State::Open; ++guard) {
        if (phase_ == Phase::Think) {
            if (target_fin_) {
                // The target closed (e.g. its keep-alive timeout) while we were thinking.
                const uint32_t count = rs(env).request_count;
                ++env.counters.closed_early;
                env.counters.requests_unsent += count - req_;
                req_ = count;
                phase_ = Phase::CloseThink;
                phase_at_ = now;
                continue;
            }
            if (req_ >= rs(env).request_count) {
                if (rs(env).open) {
                    return;  // live: wait for the client's next request
                }
                phase_ = Phase::CloseThink;
                phase_at_ = now + scale_time(rs(env).close_think_ns, env.config.speed_milli);
                continue;
            }
            if (now < phase_at_) {
                return;
            }
            release_request(env, now);
            continue;
        }
        if (phase_ == Phase::Request) {
            if (env.feed != nullptr) {
                live_request(env, now);
            }
            bool by_quiet = false;
            if (!answer_complete(env, now, by_quiet)) {
                return;
            }
            live_idle_ = false;
            response_done(env, now, by_quiet);
            continue;
        }
        if (phase_ == Phase::CloseThink) {
            if (now < phase_at_) {
                return;
            }
            if (rs(env).close == CloseKind::Rst) {
                emit(env, kRst | kAck, iss_ + 1 + snd_max_, 0, false);
                finish(env, now, Outcome::Completed);
                return;
            }
            send_fin(env, now);
            continue;
        }
        // FinWait
        if (fin_acked_ && target_fin_) {
            if (ack_pending_) {
                emit(env, kAck, fin_seq() + 1, 0, false);
            }
            finish(env, now, Outcome::Completed);
            return;
        }
        if (fin_acked_ && phase_at_ != 0 && now >= phase_at_) {
            // The target keeps its side open: do not leave it half-open.
            emit(env, kRst | kAck, fin_seq() + 1, 0, false);
            ++env.counters.closed_with_reset;
            finish(env, now, Outcome::Completed);
        }
        return;
    }
}

// ---- input ----------------------------------------------------------------------------------

void SessionDriver::on_report(DriverEnv& env, const wire::Report& r, uint64_t now) {
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
        on_data(env, r, now);
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

void SessionDriver::on_data(DriverEnv& env, const wire::Report& r, uint64_t now) {
    const uint32_t end = r.seq + r.payload_len;
    if (r.payload_len > 0) {
        if (!seq_gt(end, rcv_nxt_)) {
            ack_now_ = true;  // a repeated segment: our ACK was lost or is late
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
// so the next request can carry it.
uint64_t SessionDriver::ack_deadline(const DriverEnv& env) const {
    if (phase_ == Phase::Request && !target_fin_) {
        const uint32_t received = rcv_nxt_ - resp_start_;
        if (received != request(env).response_len) {
            return 0;
        }
        return last_data_at_ + std::max(env.config.delayed_ack_ns, settle_ns(env));
    }
    return last_data_at_ + env.config.delayed_ack_ns;
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

// ---- timers ---------------------------------------------------------------------------------

bool SessionDriver::waiting_on_target() const {
    if (state_ == State::SynSent) {
        return true;
    }
    if (state_ != State::Open) {
        return false;
    }
    return snd_una_ < snd_max_ || snd_nxt_ < send_limit_ || (fin_out_ && !fin_acked_) ||
           (phase_ == Phase::Request && !live_idle_) || phase_ == Phase::FinWait;
}

void SessionDriver::on_rto(DriverEnv& env, uint64_t now) {
    if (++retries_ > env.config.max_retries) {
        reset(env);
        finish(env, now, Outcome::TimedOut);
        return;
    }
    rto_ms_ = ns_to_ms(std::min(ms_to_ns(rto_ms_) * 2, env.config.rto_max_ns));
    rto_at_ = 0;
    probing_ = false;
    if (state_ == State::SynSent) {
        send_syn(env);
        ++env.counters.syn_retransmissions;
        rto_at_ = now + ms_to_ns(rto_ms_);
        return;
    }
    cwnd_ = 2u * mss_;
    rexmit_pending_ = true;
    if (snd_una_ < snd_max_ || snd_nxt_ < send_limit_) {
        snd_nxt_ = snd_una_;  // go back: resend from the first unacknowledged byte
        send_data(env, now, true);
    } else if (fin_out_ && !fin_acked_) {
        emit(env, kFin | kAck, fin_seq(), 0, false);
        ++env.counters.retransmissions;
        rexmits_ = static_cast<uint8_t>(std::min(rexmits_ + 1, 255));
    }
    if (rto_at_ == 0 && (snd_una_ < snd_max_ || (fin_out_ && !fin_acked_))) {
        rto_at_ = now + ms_to_ns(rto_ms_);
    }
}

// The first new ACK after timeout retransmissions: were they needed? Spurious (the target had
// the originals: our timer fired before intercept's report of its ACK arrived) when a duplicate
// ACK follows (the target acknowledging our repeated bytes once more: on_ack), as DSACK tells a
// SACK sender (RFC 3708). Else the target or the network had dropped the originals; under a
// burst of new connections that is the target's accept queue overflowing (ListenOverflows).
// (Timing alone cannot tell: an ACK soon after the retransmission may answer it when the
// target's queue just drained.)
void SessionDriver::classify_retransmission() {
    rexmit_pending_ = false;
    rexmit_check_ = true;  // rexmits_ kept until a duplicate ACK or the next new ACK
}

void SessionDriver::rtt_sample(const DriverConfig& c, uint64_t rtt_ns) {
    const uint64_t r = std::min<uint64_t>(rtt_ns / 1000, 0x7fffffff);
    if (srtt_us_ == 0) {
        srtt_us_ = static_cast<uint32_t>(std::max<uint64_t>(r, 1));
        rttvar_us_ = static_cast<uint32_t>(r / 2);
    } else {
        const uint64_t dev = r > srtt_us_ ? r - srtt_us_ : srtt_us_ - r;
        rttvar_us_ = static_cast<uint32_t>((3 * uint64_t{rttvar_us_} + dev) / 4);
        srtt_us_ = static_cast<uint32_t>((7 * uint64_t{srtt_us_} + r) / 8);
    }
    // RFC 6298 2.3: RTO = SRTT + max(G, 4 x RTTVAR), G = 1 ms here.
    const uint64_t rto_us = srtt_us_ + std::max<uint64_t>(1000, 4 * uint64_t{rttvar_us_});
    rto_ms_ = ns_to_ms(std::clamp(rto_us * 1000, c.rto_min_ns, c.rto_max_ns));
}

void SessionDriver::on_timer(DriverEnv& env, uint64_t now) {
    if (finished() || state_ == State::Idle) {
        return;
    }
    if (waiting_on_target() && now >= last_progress_ + env.config.timeout_ns) {
        reset(env);
        finish(env, now, Outcome::TimedOut);
        return;
    }
    if (rto_at_ != 0 && now >= rto_at_) {
        on_rto(env, now);
        if (finished()) {
            return;
        }
    }
    pump(env, now);
    send_ack_if_due(env, now);
}

uint64_t SessionDriver::deadline_in(const DriverEnv& env) const {
    if (finished() || state_ == State::Idle) {
        return kNever;
    }
    uint64_t d = kNever;
    if (rto_at_ != 0) {
        d = rto_at_;
    }
    if (waiting_on_target()) {
        d = std::min(d, last_progress_ + env.config.timeout_ns);
    }
    if (state_ == State::Open && ack_pending_) {
        d = std::min(d, ack_now_ ? 0 : ack_deadline(env));
    }
    if (state_ == State::Open) {
        const bool awaiting_client =  // live: no timer until the client's next request
            phase_ == Phase::Think && req_ >= rs(env).request_count && rs(env).open;
        if ((phase_ == Phase::Think && !awaiting_client) || phase_ == Phase::CloseThink) {
            d = std::min(d, phase_at_);
        } else if (phase_ == Phase::Request) {
            const RecordedRequest r = request(env);
            const uint32_t received = rcv_nxt_ - resp_start_;
            if (r.response_len > 0 && received >= r.response_len && answer_final(env)) {
                d = std::min(d, last_data_at_ + settle_ns(env));
            } else if (received > 0 && snd_una_ >= send_limit_ && received < r.response_len &&
                       answer_final(env)) {
                d = std::min(d, last_data_at_ + quiet_ns(env));
            }
        } else if (phase_ == Phase::FinWait && fin_acked_ && phase_at_ != 0) {
            d = std::min(d, phase_at_);
        }
    }
    return d;
}

}  // namespace tcpr::replay
