// One captured TCP connection, assembled as its packets come: the one assembler behind both
// sources of sessions, the archive builder (session_builder.h: every packet of a capture file,
// then finish) and live passthrough (live_sessions.h: packets as the interface hands them, read
// while they are replayed). It keeps
//  - the client's byte stream, reassembled by sequence number (retransmissions and overlaps
//    removed, TSO/GRO super-segments taken as they are, recorded checksums ignored), published
//    as it becomes contiguous; a hole the server acknowledged, or left when the connection
//    ended, was lost by the capture: zeros, counted;
//  - the requests, cut by the RequestPolicy, with their recorded pauses; and for each, where its
//    answer begins in the server's stream, the answer's length (up to the next request's) and
//    its first bytes;
//  - the handshake facts (ISN, MSS, window scale, round trip) and how each side closed;
//  - for a connection open before the capture began, the wait for its first request boundary.
// What the connection becomes (a recorded session, a live session copied while it grows) and
// when it is over are its owner's business. Pure logic: no OS, no clock but capture time.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/net/flow_key.h"
#include "common/net/packet_view.h"
#include "replayer/sessions/answer_digest.h"
#include "replayer/sessions/recording.h"
#include "replayer/sessions/request_policy.h"

namespace tcpr::replay {

// One request as assembled so far.
struct AssembledRequest {
    uint32_t begin = 0;      // client stream offset of its first byte
    uint32_t ack_start = 0;  // server stream offset the client had read when it began
    uint64_t think_ns = 0;   // recorded pause before it (after the last earlier packet)
    // Capture times of its last byte (so far) and of its answer's first and last byte (0: none).
    uint64_t sent_ts = 0, answer_first_ts = 0, answer_last_ts = 0;
    // The answer's first bytes are known: head() holds them as captured (<= 64 bytes) and
    // `status` their first line, both empty when they were not captured or there is none.
    AnswerDigest digest;  // of the answer's body (when digests are on)
    bool status_known = false;
    uint8_t head_len = 0;
    std::string status;
    std::array<char, 64> head_bytes;

    std::string_view head() const { return {head_bytes.data(), head_len}; }
};

class Conversation {
  public:
    // Client stream offsets stay below this (uint32 offsets); a longer stream is cut.
    static constexpr uint32_t kStreamLimit = 0xF000'0000u;

    // A connection whose first packet (at ts_ns) is `first`. Without a SYN it waits for its
    // first request boundary; a pause counts from capture_start_ns.
    Conversation(const net::Endpoint& client, const net::Endpoint& server, uint64_t ts_ns,
                 bool awaiting_boundary, uint64_t capture_start_ns);

    // What one segment did.
    struct Step {
        bool bytes = false;           // client bytes or a request began (or grew)
        bool answer = false;          // the server's stream grew
        bool status = false;          // an answer's first line became known
        bool closed = false;          // the client's FIN/RST was seen now
        bool server_reset = false;    // the server reset the connection
        bool cut = false;             // the client stream passed the byte limit: cut there
        uint32_t skipped_bytes = 0;   // client bytes before the first boundary
        bool skipped_answer = false;  // an answer to a request the capture lacks began
        uint64_t missing = 0;         // client bytes given up as lost by the capture
    };

    // Digest each answer's body (AnswerDigest, RecordedRequest::body_digest): off by default.
    // `rules` (nullptr: the defaults) must outlive the conversation.
    void digest_answers(bool on, const CompiledNoiseRules* rules = nullptr) {
        digest_ = on;
        rules_ = rules;
    }

    // --- Handshake and boundary ----------------------------------------------------------
    // The client's SYN (the first one counts; retransmissions change nothing).
    void client_syn(const net::PacketView& v, std::span<const uint8_t> frame, uint64_t ts_ns);
    // The server's SYN-ACK: the server's ISN and window scale.
    void server_synack(const net::PacketView& v, std::span<const uint8_t> frame);
    // Is this client segment with payload the first request boundary (awaiting_boundary())?
    bool at_boundary(const RequestPolicy& policy, const net::PacketView& v,
                     std::span<const uint8_t> frame, uint64_t ts_ns) const;
    // A segment before the boundary (a client segment at_boundary() refused, or the server's):
    // skipped and counted, its close noted.
    Step skip_before_boundary(const net::PacketView& v, bool from_client, uint64_t ts_ns);
    // The session starts at this client segment: its client stream here, its server stream at
    // what the segment acknowledges. Feed the segment to client_segment() next.
    void begin_at(const net::PacketView& v, uint64_t ts_ns);

    // --- Data ----------------------------------------------------------------------------
    // A client segment after the handshake or boundary. `max_bytes`: when the bytes it would
    // hold exceed this, the stream is cut where it is (Step::cut, the close becomes a RST).
    Step client_segment(const RequestPolicy& policy, const net::PacketView& v,
                        std::span<const uint8_t> frame, uint64_t ts_ns, uint64_t max_bytes);
    // A server segment. `settle_on_ack`: a client byte the server acknowledged but the capture
    // lacks is given up as lost at once (live: later bytes can be published); otherwise only
    // at finish() (a capture may hold the client's segment just after the server's ACK).
    Step server_segment(const net::PacketView& v, std::span<const uint8_t> frame, uint64_t ts_ns,
                        bool settle_on_ack);
    // The connection is over: every byte up to the highest seen is given up as lost, every
    // answer line still unknown as not captured.
    Step finish();

    // A segment far outside what either side could send (beyond the peer's acknowledgment plus
    // window, or far before the stream): it belongs to another connection on the same tuple
    // whose SYN the capture lost. note_window() afterwards, for every segment taken.
    bool plausible(const net::PacketView& v, bool from_client) const;
    void note_window(const net::PacketView& v, bool from_client);

    // --- Memory --------------------------------------------------------------------------
    // Bytes below `offset` are no longer needed (every copy's target acknowledged them);
    // released in chunks.
    void release_bytes(uint32_t offset);
    // Requests below `index` are no longer needed; the one before `published` is kept.
    // Returns the released requests' count.
    uint32_t release_requests(uint32_t index, uint32_t published);
    // No byte is needed any more: keep only the counts (and the last request, which cuts).
    void drop_bytes();

    // --- What it holds -------------------------------------------------------------------
    const net::Endpoint& client() const { return client_; }
    const net::Endpoint& server() const { return server_; }
    bool awaiting_boundary() const { return awaiting_boundary_; }
    bool syn_seen() const { return syn_seen_; }
    bool any_client_data() const { return any_client_data_; }
    bool skipped_client_data() const { return pre_client_data_; }
    uint64_t first_ts() const { return first_ts_; }
    uint32_t client_isn() const { return syn_seen_ ? syn_seq_ : client_base_ - 1; }
    uint32_t syn_seq() const { return syn_seq_; }
    uint16_t mss() const { return mss_; }
    uint8_t window_scale() const { return wscale_; }
    uint64_t rtt_ns() const;
    CloseKind close() const { return close_; }
    bool server_fin() const { return server_fin_; }
    bool server_reset() const { return server_rst_; }
    bool server_closed_first() const {
        return server_closed_first_ || (server_fin_ && close_ == CloseKind::None);
    }
    // The recorded pause before the client's FIN/RST (0 if it did not close).
    uint64_t close_think_ns() const;
    // The client closed and every byte before its FIN is in (or it reset): nothing more comes.
    bool client_done() const {
        return close_ == CloseKind::Rst || (close_ == CloseKind::Fin && avail_ >= high_);
    }

    // Client stream: bytes below published_bytes() are present (or zeros, counted missing).
    uint32_t published_bytes() const { return avail_; }
    uint32_t stream_end() const { return high_; }
    uint32_t server_end() const { return server_high_; }
    // Client stream bytes [offset, offset + length) if held, else empty.
    std::span<const uint8_t> bytes(uint32_t offset, uint32_t length) const;
    size_t held_bytes() const { return data_.size(); }
    uint64_t missing_bytes() const { return missing_; }
    // The client stream offset of the first byte the capture lost (kNoLoss: none).
    static constexpr uint32_t kNoLoss = UINT32_MAX;
    uint32_t first_lost() const { return first_lost_; }
    uint64_t oversized_segments() const { return oversized_; }

    // Requests: absolute indices [first_request(), request_end()).
    uint32_t first_request() const { return req_base_; }
    uint32_t request_end() const { return req_base_ + static_cast<uint32_t>(reqs_.size()); }
    const AssembledRequest& request(uint32_t index) const { return reqs_[index - req_base_]; }
    AssembledRequest& request(uint32_t index) { return reqs_[index - req_base_]; }
    // Request `index` as far as it is published: its bytes up to the next request (or the
    // published end), its answer up to the next request's start (or all server data so far).
    RecordedRequest recorded(uint32_t index) const;
    // recorded(index).response_len alone.
    uint32_t response_len(uint32_t index) const;
    // recorded(index).begin + .length alone.
    uint32_t request_end(uint32_t index) const;

  private:
    // The first bytes of a recent server segment (a ring of the latest kHeadsKept).
    static constexpr size_t kHeadsKept = 4;
    struct Head {
        uint32_t rel = 0;  // server stream offset of its first byte
        uint8_t len = 0;
        std::array<char, 64> bytes;
    };

    void client_close(const net::PacketView& v, uint64_t ts_ns, Step& step);
    void cut_requests(const RequestPolicy& policy, const net::PacketView& v, uint64_t ts_ns);
    void add_request(uint32_t at, uint32_t ack_start, uint64_t think_ns);
    void store(const net::PacketView& v, std::span<const uint8_t> frame, uint32_t begin,
               uint32_t end, uint32_t skip);
    uint64_t advance(uint32_t to);
    void time_answer(uint32_t rel, uint64_t ts_ns);
    void digest_answer(uint32_t from, uint32_t rel, const uint8_t* bytes, uint32_t captured,
                       uint32_t end);
    void resolve(AssembledRequest& r, std::string_view head);
    uint64_t last_activity() const;

    net::Endpoint client_, server_;
    uint64_t first_ts_ = 0, syn_ts_ = 0, handshake_ts_ = 0, close_ts_ = 0;
    uint64_t last_client_data_ts_ = 0, last_server_data_ts_ = 0;
    bool syn_seen_ = false, synack_seen_ = false, handshake_done_ = false;
    bool client_base_set_ = false, server_base_set_ = false;
    uint32_t syn_seq_ = 0, client_base_ = 0, server_base_ = 0;
    uint16_t mss_ = 0;
    uint8_t wscale_ = 0xff, srv_wscale_ = 0xff;  // SYN / SYN-ACK options (0xff: none)

    // Before the first request boundary (no handshake captured).
    bool awaiting_boundary_ = false;
    bool pre_client_data_ = false;  // client bytes were skipped
    BoundaryWatch boundary_;

    // What each side last advertised and acknowledged (offsets in the other's stream).
    uint32_t cli_wnd_ = 0, srv_wnd_ = 0, cli_acked_ = 0, srv_acked_ = 0;
    bool cli_wnd_set_ = false, srv_wnd_set_ = false;

    // The client stream: data_[i] is stream offset data_base_ + i.
    std::vector<uint8_t> data_;
    uint32_t data_base_ = 0;
    uint32_t avail_ = 0;  // every byte below is present (or given up as lost)
    uint32_t high_ = 0;   // end of the highest byte seen
    std::vector<std::pair<uint32_t, uint32_t>> ooo_;  // present ranges beyond avail_, sorted
    bool dropped_ = false;                            // bytes are no longer kept
    uint64_t missing_ = 0, oversized_ = 0;
    uint32_t first_lost_ = kNoLoss;

    std::deque<AssembledRequest> reqs_;  // reqs_[i] is request req_base_ + i
    uint32_t req_base_ = 0;
    uint32_t cur_ack_ = 0;
    bool any_client_data_ = false;

    uint32_t server_high_ = 0;
    std::array<Head, kHeadsKept> heads_;
    uint8_t heads_used_ = 0, heads_next_ = 0;

    bool digest_ = false;
    const CompiledNoiseRules* rules_ = nullptr;
    CloseKind close_ = CloseKind::None;
    bool server_fin_ = false, server_rst_ = false, server_closed_first_ = false;
};

// A recorded session's facts as far as they are known: endpoints, times, handshake options, how
// it closed (its stream and requests are filled by the owner).
RecordedSession session_facts(const Conversation& c);

}  // namespace tcpr::replay
