// Socket replay (issue 5): each session copy is one ordinary TCP connection from this host to
// the target (nonblocking connect/send/recv, all connections on the run loop's epoll, one
// thread). No root, no intercept, no route changes: it works where forged source addresses are
// dropped (clouds, containers). The client's byte stream is sent request by request: a request
// leaves when the answer to the previous one is done (the recorded length arrived, the target
// went quiet after sending less, or it closed) and the scaled recorded think time has passed.
// Every response is compared with the recording (first line and length); the ones that differ
// go to the --diff file. Connect errors, resets and timeouts are counted, never fatal.
//
// What it cannot preserve (docs/replay.md, "Socket transport"): the client's address and port
// (the kernel picks them), segment boundaries and timing inside a request, TCP options, and
// retransmission behaviour: the kernel's TCP stack sends the bytes its own way.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/base/hash.h"
#include "common/os/stream_socket.h"
#include "replayer/sessions/answer_digest.h"
#include "replayer/sessions/recording.h"
#include "replayer/sessions/session_feed.h"
#include "replayer/transport/answer_votes.h"
#include "replayer/transport/counters.h"
#include "replayer/transport/request_log.h"
#include "replayer/transport/response_diff.h"
#include "replayer/transport/session_driver.h"
#include "replayer/transport/transport.h"

namespace tcpr::replay {

struct SocketTransportOptions {
    net::Endpoint target;                       // the only endpoint it connects to
    uint32_t speed_milli = 1000;                // think times / speed; 0 = max (no waits)
    bool compare = true;                        // the comparison per endpoint (--no-compare)
    const CompiledNoiseRules* noise = nullptr;  // what is noise (nullptr: the defaults)
    EndpointRules endpoints;                    // how requests are named (--endpoint-bytes)
    RequestLog* requests = nullptr;             // --report requests FILE (with the comparison)
    uint32_t copies = 1;                        // copies per session (bodies that differ between
                                                //   copies are noise)
    uint64_t timeout_ns = 30'000'000'000;       // waiting on the target without progress
    // An answer shorter than recorded is done after a quiet period without new data once the
    // request was written: clamp(max(factor x rtt, the connection's RTO), min, max); rtt = the
    // larger of the recorded handshake RTT and this replay's connect time (default_rtt_ns when
    // neither is known); RTO = the kernel's retransmission timeout for the connection (at least
    // 200 ms on Linux): a segment of the answer lost on the way is resent by the target after
    // its own RTO, a pause that must not be taken for the answer's end (bench/socket_vs_raw.sh
    // saw 300 kB answers stall that way under load). use_rto = false leaves the RTO out.
    uint32_t quiet_rtt_factor = 4;
    bool quiet_use_rto = true;
    uint64_t quiet_min_ns = 50'000'000;
    uint64_t quiet_max_ns = 2'000'000'000;
    uint64_t default_rtt_ns = 1'000'000;
    // An answer that reached the recorded length ends after a pause of min(max(settle_min,
    // 2 x connect time), quiet period) without new data, so a longer answer's tail (a server
    // writing in parts) is not read as the next answer's start (as in the raw driver).
    uint64_t settle_min_ns = 1'000'000;
    uint64_t fin_wait_ns = 5'000'000'000;  // after our FIN, the target's close; then RST
    size_t max_read_per_event = 256u << 10;
    // Live passthrough: sessions that grow while replayed (session_feed.h); see wake(). A
    // request leaves once the live client began it and the target answered the previous one
    // as far as the online server did; the online server's answer gives the expected length
    // and first line.
    SessionFeed* feed = nullptr;
};

class SocketTransport final : public Transport {
  public:
    // `diff` (may be null) receives every response that differs from the recording; it must
    // outlive the transport.
    SocketTransport(const Recording& recording, SocketTransportOptions options,
                    DiffWriter* diff = nullptr);
    ~SocketTransport() override;
    SocketTransport(const SocketTransport&) = delete;
    SocketTransport& operator=(const SocketTransport&) = delete;

    void attach(os::Epoll& epoll) override;
    uint64_t lead_ns() const override { return 0; }
    bool start(const StartEvent& e, uint64_t due_ns, uint64_t now_ns) override;
    void on_event(const os::Epoll::Event& event, uint64_t now_ns) override;
    void on_timer(uint64_t now_ns) override;
    void flush(uint64_t now_ns) override;
    uint64_t next_deadline() const override;
    size_t active() const override { return active_; }
    void abort_all(uint64_t now_ns) override;
    const ReplayCounters& counters() const override { return counters_; }
    std::string health() const override;

    // Live passthrough (options.feed): see Transport::wake.
    CopyProgress wake(uint32_t session, uint64_t now_ns) override;

    // Connections opened so far (each one a distinct local endpoint chosen by the kernel).
    uint64_t connections_opened() const { return opened_; }

    // Replayed response bytes kept for --diff and the examples of differences (a head and the
    // start of its body).
    static constexpr size_t kHeadBytes = 512;

  private:
    enum class Phase : uint8_t { Connecting, Think, Request, CloseThink, FinWait };

    struct Slot {
        std::optional<os::StreamSocket> socket;
        net::Endpoint local;
        uint32_t session = 0, copy = 0, loop = 0;
        uint32_t gen = 0;
        uint32_t req = 0;        // current request (index within the session)
        uint32_t answered = 0;   // the request whose answer is done but unchecked
        uint32_t written = 0;    // bytes of the current request written so far
        uint32_t sent_off = 0;   // client stream offset written so far (live: feed trimming)
        uint32_t keep_from = 0;  // live: begin of the answered request (--diff needs it)
        uint64_t received = 0;   // bytes of the current (or just done) answer
        uint64_t connect_at = 0;
        uint64_t rtt_ns = 0;    // connect time
        uint64_t rto_ns = 0;    // the kernel's RTO, read when a request was all written
        uint64_t phase_at = 0;  // think / close-think / fin-wait deadline
        uint64_t last_progress = 0;
        uint64_t last_data_at = 0;  // last answer byte, or when the request was all written
        uint64_t heap_at = 0;       // earliest timer entry pushed for this slot
        Phase phase = Phase::Connecting;
        bool live = false;
        bool eof = false;        // the target closed its side
        bool unchecked = false;  // an answer is done but not yet compared (late bytes count)
        bool want_write = false;
        bool idle = false;      // live: the target answered all the online server has so far
        uint32_t interest = 0;  // what epoll watches for this slot's fd
        uint16_t head_len = 0;
        std::array<uint8_t, kHeadBytes> head{};
        uint32_t endpoint = EndpointTable::kNone;  // the current request's
        uint64_t written_at = 0;                   // when its last byte was written
        uint64_t first_data_at = 0;                // when its answer's first byte was read
        AnswerDigest digest;                       // of its answer's body
    };

    struct TimerEntry {
        uint64_t at;
        uint32_t slot;
        uint32_t gen;
        bool operator>(const TimerEntry& o) const { return at > o.at; }
    };

    const RecordedSession& rs(const Slot& s) const { return rec_.sessions[s.session]; }
    RecordedRequest request_at(const Slot& s, uint32_t index) const;
    RecordedRequest request(const Slot& s) const { return request_at(s, s.req); }
    std::span<const uint8_t> request_start(const Slot& s, const RecordedRequest& r) const;
    bool answer_final(const Slot& s) const;
    uint64_t tag_of(uint32_t id) const;
    uint64_t quiet_ns(const Slot& s) const;
    uint64_t settle_ns(const Slot& s) const;
    uint64_t deadline(const Slot& s) const;
    void schedule(uint32_t id);
    void watch(uint32_t id, uint32_t interest);

    void connected(uint32_t id, uint64_t now);
    void connect_failed(uint32_t id, int error);
    void pump(uint32_t id, uint64_t now);
    bool step_think(uint32_t id, uint64_t now);
    bool step_request(uint32_t id, uint64_t now);
    void release_request(uint32_t id, uint64_t now);
    void write_request(uint32_t id, uint64_t now);
    void read_input(uint32_t id, uint64_t now);
    void response_done(uint32_t id, uint64_t now, bool by_quiet);
    void check_response(uint32_t id);
    void close_session(uint32_t id, uint64_t now);
    void connection_error(uint32_t id, int error);
    void finish(uint32_t id, Outcome outcome, bool conn_error = false);
    void note_error(int error);

    const Recording& rec_;
    SocketTransportOptions opt_;
    DiffWriter* diff_;
    os::TargetDialer dialer_;
    AnswerVotes votes_;
    ReplayCounters counters_;
    os::Epoll* epoll_ = nullptr;
    std::vector<Slot> slots_;
    std::vector<uint32_t> free_;
    std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
    std::vector<TimerEntry> due_;   // on_timer()'s batch
    std::vector<uint8_t> buffer_;   // receive buffer shared by every connection
    std::vector<int> errors_seen_;  // errno values already logged once
    std::unordered_map<uint32_t, std::vector<uint32_t>> by_session_;  // live only
    std::vector<uint32_t> touched_;                                   // wake()'s batch
    size_t active_ = 0;
    uint64_t opened_ = 0;
    uint64_t no_resource_since_ = 0;  // starts delayed for want of ports/descriptors
};

}  // namespace tcpr::replay
