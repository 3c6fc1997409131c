// The per-session TCP state machine of raw replay (tcpcopy's method): it plays the client half
// of one recorded session toward the target with forged packets and follows the target's side
// through intercept reports. Pure: packets go out through a net::PacketSink, inputs are
// wire::Report values and timer ticks, time is a nanosecond count passed in by the caller.
//
//   SYN (ISN ours) -> SYN-ACK report (target ISN, MSS, window scale) -> ACK
//   per request: wait the scaled think time, send its bytes (split to the target's MSS, within
//   its window and a congestion window; seq in our space, ack = target's next seq), acknowledge
//   the target's data; the answer is done when the target sent at least the recorded length
//   and then paused for a short settle period (it may send more than was recorded), or went
//   quiet for a period derived from the recorded RTT, or closed
//   then the recorded close (FIN, or RST), FIN handshake both ways; unacknowledged segments are
//   retransmitted (RTO with backoff, fast retransmit on 3 duplicate ACKs, bounded tries).
//   A RST from the target before the end fails the session ("reset by target"); a session that
//   waits on the target longer than the timeout is reset by us and counted "timed out".
// The state is kept small (sizeof(SessionDriver) is checked in tests): the recorded bytes are
// shared, unacknowledged data is re-read from the recording, never copied.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "common/net/flow_key.h"
#include "common/net/packet_sink.h"
#include "common/wire/intercept_protocol.h"
#include "replayer/sessions/answer_digest.h"
#include "replayer/sessions/recording.h"
#include "replayer/sessions/session_feed.h"
#include "replayer/transport/answer_votes.h"
#include "replayer/transport/counters.h"
#include "replayer/transport/request_log.h"

namespace tcpr::replay {

struct DriverConfig {
    net::Endpoint target;
    uint32_t speed_milli = 1000;                // think times / speed; 0 = max (no waits)
    bool compare = true;                        // the comparison per endpoint (--no-compare)
    bool compare_bodies = false;                // ... with bodies: intercept forwards payloads
    const CompiledNoiseRules* noise = nullptr;  // what is noise (nullptr: the defaults)
    EndpointRules endpoints;                    // how requests are named (--endpoint-bytes)
    uint64_t timeout_ns = 30'000'000'000;       // waiting on the target without progress
    // Response done by silence: quiet for clamp(max(recorded rtt x factor, 2 x (srtt + 4 x
    // rttvar)), min, max): recorded rtt = the recorded handshake RTT or default_rtt_ns; srtt and
    // rttvar are measured in this replay from our packets to the reports of their ACKs, so they
    // include intercept's reporting delay (during which a target waiting for our ACKs looks
    // quiet). The minimum is above the target's smallest retransmission timeout (200 ms on
    // Linux): a segment of the answer lost on the way (or a target starved of CPU for tens of
    // milliseconds, as on a loaded 2-core test host) must not end the answer, or its tail is
    // read as the next answer's first line (seen in the fidelity suite at 50 ms).
    uint32_t quiet_rtt_factor = 4;
    uint64_t quiet_min_ns = 250'000'000;
    uint64_t quiet_max_ns = 2'000'000'000;
    uint64_t default_rtt_ns = 10'000'000;
    // Response done by length: once the target sent at least the recorded length, the answer
    // ends after a pause of min(max(settle_min, srtt + 4 x rttvar), quiet period) without new
    // data, so a longer answer's tail (a server writing in parts, or one that waited for our
    // ACKs) is not taken for the next answer's start.
    uint64_t settle_min_ns = 1'000'000;
    // Live passthrough: an answer exactly as long as the online server's (whole: the live client
    // sent its next request, or the connection ended) ends at once, without the settle pause.
    // Each request of a keep-alive copy otherwise waits srtt + 4 x rttvar more than its live
    // connection did, and a copy following a client with short think times falls behind
    // steadily (by seconds per minute with intercept on another CPU).
    bool exact_length_ends = false;
    uint64_t rto_initial_ns = 1'000'000'000;  // RFC 6298 initial RTO
    uint64_t rto_min_ns = 200'000'000;
    uint64_t rto_max_ns = 10'000'000'000;
    uint8_t max_retries = 8;      // RTO expiries in a row before giving up
    uint16_t max_segment = 1460;  // our cap on payload per packet (path MTU - 40)
    uint16_t syn_mss = 1460;      // MSS option we send when none was recorded
    uint8_t window_scale = 7;     // window scale option we send
    uint16_t window = 65535;      // window field we send (we keep no data)
    // Delayed ACK (RFC 9293 3.8.6.3): an answer exactly as long as recorded (live: as what the
    // online server sent so far) has its ACK ride on our next segment (the next request, our
    // FIN) or leave after max(this delay, the settle period). Acknowledged at once: an answer
    // shorter or longer than that (the target may wait for the ACK to send the rest), 2 full
    // segments unacknowledged, a SYN-ACK, a FIN, out-of-order or repeated data.
    // 0 = acknowledge every batch of reports at once.
    uint64_t delayed_ack_ns = 2'000'000;
    // ... and when what waits is at most one segment of a complete answer: the target then has
    // one packet in flight, and Linux's tail-loss probe waits at least its minimum RTO (200 ms)
    // for a lone packet, so the ACK may wait as long as a Linux client's delayed ACK does
    // (TCP_DELACK_MIN) for the next request to carry it (one raw send fewer per request).
    uint64_t single_segment_ack_ns = 40'000'000;
    uint32_t initial_cwnd_segments = 10;   // RFC 6928
    uint64_t fin_wait_ns = 5'000'000'000;  // our FIN acknowledged, no FIN from the target
};

enum class Outcome : uint8_t { Running, Completed, ResetByTarget, TimedOut, Aborted };
const char* to_string(Outcome o);

// Everything drivers share: passed to every call so each driver stays small.
struct DriverEnv {
    const Recording& recording;
    const DriverConfig& config;
    net::PacketSink& sink;
    ReplayCounters& counters;
    std::vector<uint8_t> scratch;  // packet buffer reused for every packet
    uint16_t ip_id = 1;
    // Live passthrough: sessions still growing are read through this (session_feed.h).
    SessionFeed* feed = nullptr;
    // The copies' answer bodies, decided together (config.compare_bodies).
    AnswerVotes* votes = nullptr;
    RequestLog* requests = nullptr;  // --report requests FILE (with the comparison)
};

class SessionDriver {
  public:
    // `session`: index into env.recording.sessions; `client`: this copy's endpoint; `isn`: our
    // initial sequence number.
    SessionDriver(uint32_t session, const net::Endpoint& client, uint32_t isn);

    void start(DriverEnv& env, uint64_t now);  // sends the SYN
    // One report for this session's tuple (the caller routes by tuple). Updates the state;
    // what to send next is decided by flush(). `sent_at`: when the target sent it, on our clock
    // (`now` less the time the report waited in intercept; 0: unknown, taken as `now`).
    void on_report(DriverEnv& env, const wire::Report& report, uint64_t now, uint64_t sent_at = 0);
    // Which loop over the recording this copy replays (copies of one request vote together).
    void set_loop(uint32_t loop) { loop_ = loop; }
    // After a batch of reports: moves on (answer done, next request, close) and sends what is
    // due, at least a pending acknowledgment. Call once per batch, after on_report()s.
    void flush(DriverEnv& env, uint64_t now);
    // Timers: think time, response quiet period, retransmission, fin-wait, session timeout.
    void on_timer(DriverEnv& env, uint64_t now);
    // Ends the session now with a RST (run end, intercept gone): counted as `outcome`.
    void abort(DriverEnv& env, uint64_t now, Outcome outcome);

    // When on_timer() next needs to run; UINT64_MAX if never.
    uint64_t deadline_in(const DriverEnv& env) const;
    Outcome outcome() const { return outcome_; }
    bool finished() const { return outcome_ != Outcome::Running; }
    uint32_t session() const { return session_; }
    const net::Endpoint& client() const { return client_; }
    uint32_t isn() const { return iss_; }
    uint32_t requests_done() const { return req_; }
    // Client stream offset up to which the target acknowledged our bytes.
    uint32_t acked() const { return snd_una_; }

  private:
    enum class State : uint8_t { Idle, SynSent, Open, Closed };
    enum class Phase : uint8_t { Think, Request, CloseThink, FinWait };

    const RecordedSession& rs(const DriverEnv& env) const;
    RecordedRequest request(const DriverEnv& env) const;
    uint32_t response_len(const DriverEnv& env) const;  // request(env).response_len, cheaply
    void emit(DriverEnv& env, uint8_t flags, uint32_t seq, uint32_t len, bool syn_options);
    void send_syn(DriverEnv& env);
    void send_data(DriverEnv& env, uint64_t now, bool probe);
    void release_request(DriverEnv& env, uint64_t now);
    bool answer_complete(const DriverEnv& env, uint64_t now, bool& by_quiet) const;
    void response_done(DriverEnv& env, uint64_t now, bool by_quiet);
    void log_request(DriverEnv& env, const RecordedRequest& r, uint32_t received, bool timed);
    void vote_answer(DriverEnv& env, uint32_t request);
    void check_status(DriverEnv& env, const wire::Report& r);
    void send_fin(DriverEnv& env, uint64_t now);
    void pump(DriverEnv& env, uint64_t now);
    void send_ack_if_due(DriverEnv& env, uint64_t now);
    uint64_t ack_deadline(const DriverEnv& env) const;
    void on_ack(DriverEnv& env, const wire::Report& r, uint64_t now);
    void on_data(DriverEnv& env, const wire::Report& r, uint64_t now, uint64_t sent_at);
    uint32_t digest_data(const wire::Report& r);
    void on_rto(DriverEnv& env, uint64_t now);
    void rtt_sample(const DriverConfig& config, uint64_t rtt_ns);
    void classify_retransmission();
    void finish(DriverEnv& env, uint64_t now, Outcome outcome);
    void reset(DriverEnv& env);
    uint64_t quiet_ns(const DriverEnv& env) const;
    uint64_t settle_ns(const DriverEnv& env) const;
    bool waiting_on_target() const;
    bool answer_final(const DriverEnv& env) const;
    void live_request(DriverEnv& env, uint64_t now);
    uint32_t in_flight() const { return snd_nxt_ - snd_una_; }
    uint32_t fin_seq() const { return iss_ + 1 + fin_off_; }

    net::Endpoint client_;
    uint32_t session_ = 0;
    uint32_t iss_ = 0;         // our ISN; stream offset o is sequence iss_ + 1 + o
    uint32_t irs_ = 0;         // the target's ISN
    uint32_t rcv_nxt_ = 0;     // next target sequence number expected (what we acknowledge)
    uint32_t snd_una_ = 0;     // stream offsets: first unacknowledged byte,
    uint32_t snd_nxt_ = 0;     //   next byte to send,
    uint32_t snd_max_ = 0;     //   highest byte ever sent,
    uint32_t send_limit_ = 0;  //   end of the bytes released (current request's end)
    uint32_t fin_off_ = 0;     // stream offset our FIN occupies (valid once fin_sent_)
    uint32_t snd_wnd_ = 0;     // target's window in bytes (scaled)
    uint32_t cwnd_ = 0;
    uint32_t resp_start_ = 0;  // target sequence where the current answer starts
    uint32_t req_ = 0;         // current request (index within the session)
    uint32_t rto_ms_ = 0;
    uint32_t srtt_us_ = 0;    // RFC 6298 estimates, measured in this replay (send -> report
    uint32_t rttvar_us_ = 0;  //   of the ACK: it includes intercept's reporting delay)
    uint32_t probe_end_ = 0;  // RTT probe: a new segment ending here, sent at probe_at_
    uint32_t rcv_acked_ = 0;  // the last acknowledgment number we sent
    uint64_t probe_at_ = 0;
    uint64_t rto_at_ = 0;    // retransmission deadline, 0 = not armed
    uint64_t phase_at_ = 0;  // think / close-think / fin-wait deadline
    uint64_t last_progress_ = 0;
    uint64_t last_data_at_ = 0;  // last target data, or when the request was fully acked
    uint64_t syn_at_ = 0;        // first SYN sent (RTT sample)
    uint64_t sent_at_ = 0;       // the current request's last byte first sent (0: not yet)
    uint32_t endpoint_ = EndpointTable::kNone;  // the current request's
    uint32_t first_us_ = kNoLatency;  // its answer's first byte sent by the target, after sent_at_
    uint32_t last_us_ = kNoLatency;   // ... and its last byte so far
    uint32_t loop_ = 0;
    // The current answer, when its body is compared (config.compare_bodies): its digest and its
    // first bytes (for an example of a difference).
    struct Answer {
        explicit Answer(const CompiledNoiseRules* rules) : digest(rules) {}
        AnswerDigest digest;
        std::vector<uint8_t> head;  // <= kHeadBytes
        uint32_t base = 0;          // target sequence number of the answer's first byte
        // Live: the online answer was not over when this one was (its digest not known yet):
        // compared when the next request begins (the online one is over then) or at the end.
        bool vote_pending = false;
        uint32_t pending_request = 0, pending_endpoint = 0;
        uint32_t next = 0;  // answer offset the digest takes next
        // Segments reported past a hole (reordered on the way to intercept: the late original
        // comes next), by answer offset; at most kMaxAhead bytes, beyond which the digest is lost.
        std::map<uint32_t, std::vector<uint8_t>> ahead;
        size_t ahead_bytes = 0;
        static constexpr size_t kHeadBytes = 512;
        static constexpr size_t kMaxAhead = 1u << 20;
        void reset(uint32_t start);
        void take(uint32_t offset, std::span<const uint8_t> bytes);
    };
    std::unique_ptr<Answer> answer_;
    uint16_t mss_ = 536;
    uint8_t snd_shift_ = 0;  // target's window scale (0 if not negotiated)
    uint8_t retries_ = 0;
    uint8_t dupacks_ = 0;
    uint8_t rexmits_ = 0;  // segments retransmitted by timeout since the last new ACK
    State state_ = State::Idle;
    Phase phase_ = Phase::Think;
    Outcome outcome_ = Outcome::Running;
    bool ack_pending_ : 1 = false;  // target data or FIN not acknowledged yet
    bool ack_now_ : 1 = false;      // ... and the ACK must not be delayed
    bool fin_sent_ : 1 = false;     // our FIN is queued after the last byte
    bool fin_out_ : 1 = false;      // ... and was transmitted
    bool fin_acked_ : 1 = false;
    bool target_fin_ : 1 = false;
    bool status_checked_ : 1 = false;
    bool status_bad_ : 1 = false;  // the current answer's first line differs from the recording
    bool probing_ : 1 = false;
    bool live_idle_ : 1 = false;       // live: the target answered all the online server has so far
    bool tuple_reset_ : 1 = false;     // our SYN met an old connection on the tuple: we reset it
    bool rexmit_pending_ : 1 = false;  // timeout retransmissions not yet acknowledged
    bool rexmit_check_ : 1 = false;    // timeout retransmissions acknowledged: a duplicate ACK
                                       //   next means the target had the originals
};

}  // namespace tcpr::replay
