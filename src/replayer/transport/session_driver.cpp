// SessionDriver's progress through its session: start, the requests and their answers (when an
// answer is done, when the next request may leave), the close, and the timers (retransmission,
// think times, timeout). The packets it sends and the reports it reads are in
// session_segments.cpp.
#include "replayer/transport/session_driver.h"

#include <algorithm>
#include <limits>

#include "common/net/packet_view.h"
#include "replayer/schedule/scheduler.h"

namespace tcpr::replay {
namespace {

using net::tcp_flags::kAck;
using net::tcp_flags::kFin;
using net::tcp_flags::kRst;

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

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

uint32_t SessionDriver::response_len(const DriverEnv& env) const {
    if (env.feed != nullptr) {
        return env.feed->response_len(session_, req_);
    }
    return env.recording.requests_of(rs(env))[req_].response_len;
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
    if (answer_ && answer_->vote_pending && env.votes != nullptr) {
        vote_answer(env, answer_->pending_request);
    }
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
    if (env.config.compare) {
        const uint32_t n = std::min<uint32_t>(r.length, kEndpointScanBytes);
        endpoint_ = env.counters.endpoints.id_of(
            env.recording, r,
            env.feed != nullptr ? env.feed->bytes(session_, r.begin, n)
                                : env.recording.stream(rs(env)).subspan(r.begin, n),
            endpoint_);
        sent_at_ = r.length == 0 ? now : 0;
        first_us_ = last_us_ = kNoLatency;
        status_bad_ = false;
        if (env.config.compare_bodies) {
            if (answer_ && answer_->vote_pending) {
                vote_answer(env, answer_->pending_request);
            }
            if (!answer_) {
                answer_ = std::make_unique<Answer>(env.config.noise);
            } else {
                answer_->digest.reset(env.config.noise);
            }
            answer_->reset(resp_start_);
            if (rcv_nxt_ != resp_start_) {
                answer_->digest.lose();  // a greeting's bytes came before it was asked for
            }
        }
    }
    send_data(env, now, false);
}

// This copy's answer to request `request` into the copies' votes (answer_ holds it).
void SessionDriver::vote_answer(DriverEnv& env, uint32_t request) {
    const RecordedRequest r = env.feed != nullptr ? env.feed->request(session_, request)
                                                  : env.recording.requests_of(rs(env))[request];
    if (env.feed != nullptr && r.body_digest == 0 && r.head_digest == 0) {
        answer_->vote_pending = false;
        return;  // the online answer's digests never came (bytes missing, or it never ended)
    }
    const uint32_t n = std::min<uint32_t>(r.length, kEndpointScanBytes);
    const AnswerSeen seen{env.feed == nullptr ? env.recording.response_head(r)
                                              : env.feed->response_head(session_, request),
                          answer_->head,
                          env.feed == nullptr ? env.recording.stream(rs(env)).subspan(r.begin, n)
                                              : env.feed->bytes(session_, r.begin, n),
                          client_};
    const uint32_t endpoint = answer_->vote_pending ? answer_->pending_endpoint : endpoint_;
    answer_->vote_pending = false;
    env.votes->vote({session_, loop_, request}, endpoint, answer_->digest, r, seen, env.counters);
}

// One line of --report requests: the recorded answer and this copy's.
void SessionDriver::log_request(DriverEnv& env, const RecordedRequest& r, uint32_t received,
                                bool timed) {
    RequestEntry e;
    e.session = session_;
    e.loop = loop_;
    e.request = req_;
    e.client = client_;
    e.endpoint = env.counters.endpoints.name_of(endpoint_);
    std::string_view recorded_status = env.recording.status_line(r);
    if (env.feed != nullptr) {
        recorded_status = env.feed->status_line(session_, req_).value_or(std::string_view());
    }
    e.recorded = {recorded_status, r.response_len,    r.body_digest,
                  r.head_digest,   r.answer_first_us, r.answer_last_us};
    std::string replayed_status;
    if (answer_) {
        replayed_status = first_line(answer_->head);
        take_digests(answer_->digest, e.replayed);
    }
    e.replayed.status = replayed_status;
    e.replayed.length = received;
    e.replayed.first_us = timed ? first_us_ : kNoLatency;
    e.replayed.last_us = timed ? last_us_ : kNoLatency;
    env.requests->add(e);
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
    if (env.config.compare && (received > 0 || r.response_len > 0)) {
        // Replayed latency: from our last request byte to the answer's first and last byte as
        // the target sent them (intercept's capture time; docs/replay.md).
        const bool timed = sent_at_ != 0 && received > 0;
        env.counters.endpoints.record(endpoint_, r, status_bad_, timed ? first_us_ : kNoLatency,
                                      timed ? last_us_ : kNoLatency);
        if (env.requests != nullptr) {
            log_request(env, r, received, timed);
        }
        if (answer_ && env.votes != nullptr && received > 0) {
            if (env.feed != nullptr && r.body_digest == 0 && r.head_digest == 0) {
                // Live: the online answer is not over yet; compared when it is.
                answer_->vote_pending = true;
                answer_->pending_request = req_;
                answer_->pending_endpoint = endpoint_;
            } else {
                vote_answer(env, req_);
            }
        }
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
    const uint32_t response_len = this->response_len(env);
    const uint32_t received = rcv_nxt_ - resp_start_;
    by_quiet = false;
    if (!answer_final(env)) {
        return target_fin_;  // live: the online server's answer may still grow
    }
    if (response_len == 0 || target_fin_) {
        return true;
    }
    if (received == response_len && env.config.exact_length_ends) {
        return true;
    }
    if (received >= response_len) {
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
    const uint32_t request_end = env.feed->request_end(session_, req_);
    if (request_end > send_limit_) {
        send_limit_ = request_end;
        send_data(env, now, false);
    }
    if (live_idle_) {
        last_progress_ = now;
    }
    const uint32_t received = rcv_nxt_ - resp_start_;
    live_idle_ = !answer_final(env) && received >= response_len(env) && snd_una_ >= send_limit_;
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
            if (rs(env).shed) {
                // Live, over --max-lag: the requests this copy has not begun are shed.
                env.counters.requests_unsent += rs(env).request_count - req_;
                req_ = rs(env).request_count;
                phase_ = Phase::CloseThink;
                phase_at_ = now;
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
            const uint32_t response_len = this->response_len(env);
            const uint32_t received = rcv_nxt_ - resp_start_;
            if (response_len > 0 && received >= response_len && answer_final(env)) {
                d = std::min(d, last_data_at_ + settle_ns(env));
            } else if (received > 0 && snd_una_ >= send_limit_ && received < response_len &&
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
