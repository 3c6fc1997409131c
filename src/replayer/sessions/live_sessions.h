// Live passthrough's session engine input: captured packets of the online port, fed one at a
// time, become sessions that grow while their copies are replayed (docs/replay.md, "Live
// passthrough"). Each connection is assembled by a Conversation (conversation.h), the assembler
// archive replay's SessionBuilder uses too; this class decides which connections are copied,
// publishes what they hold as it grows and keeps memory bounded. Pure logic (no OS): the caller
// feeds decoded frames and monotonic times, starts the copies of new sessions, wakes the copies
// of changed ones, reports their progress and the copies that ended.
//
// Per connection to the online port:
//  - a client SYN starts a session at once (its copies send their SYN while the online
//    handshake is still going); a connection already open when the capture started is copied
//    with a built SYN from its first request boundary (the client spoke after reading an
//    answer, or after a pause of the request policy, or its bytes begin like a request:
//    RequestPolicy::recognize_starts); the bytes before are skipped and counted;
//  - the client's bytes are reassembled by sequence number and published as they become
//    contiguous (a hole the online server acknowledged was lost by the capture: zeros, counted);
//  - requests are cut by the same RequestPolicy as archive replay; a request appears when its
//    first byte is published and grows while the client sends it; its answer's length grows
//    while the online server answers and is final once the next request begins or the client
//    closed; the answer's first line is kept for comparison with the target's;
//  - think times are 0: a request leaves when the live client sent it and the target answered
//    the previous one;
//  - memory is bounded: bytes and requests every copy is done with are dropped, idle
//    connections expire, a cap on concurrent sessions and on buffered bytes (new connections
//    over it are dropped and counted; a session over its own limit is cut with RST).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/base/stats.h"
#include "common/net/flow_key.h"
#include "common/net/packet_view.h"
#include "common/net/skip_reason.h"
#include "replayer/sessions/conversation.h"
#include "replayer/sessions/recording.h"
#include "replayer/sessions/session_builder.h"
#include "replayer/sessions/session_feed.h"

namespace tcpr::replay {

struct LiveConfig {
    uint16_t server_port = 80;      // the online port
    RequestPolicy policy;           // --request-gap, --no-ack-split
    std::vector<Cidr> client_nets;  // --sessions CIDR: only these clients (empty = all)
    double sample_percent = 100.0;  // --sample: per session, hash of the tuple
    uint64_t sample_seed = 0;
    std::optional<uint8_t> ip_version;   // only clients of this IP version (the target's)
    uint32_t copies = 1;                 // copies started per session (for the caps)
    uint64_t max_active = 100'000;       // concurrent copies (sessions x copies), --max-active
    uint64_t idle_ns = 120'000'000'000;  // a connection quiet this long is over (expired)
    uint64_t closed_linger_ns = 2'000'000'000;  // a closed connection's late packets: ignored
    uint64_t max_buffer_bytes = 256ull << 20;   // client bytes held for copies, all sessions
    uint64_t max_session_bytes = 64ull << 20;   // ... for one session: beyond, it is cut
    size_t max_tracked = 1'000'000;             // connections tracked (copied or waiting)
    // Live: a connection whose copies are further behind than this (the oldest request some
    // copy has not finished, by capture time, at the last sweep) is shed: each copy ends after
    // the request it is on (RecordedSession::shed); and while any is, new connections are not
    // copied: the copies catch up instead of falling minutes behind (0: never shed).
    uint64_t max_lag_ns = 0;
    // Capture clock when the capture began (0: its first packet). A connection open before
    // whose client is quiet for the request policy's pause since then starts a request.
    uint64_t capture_start_ns = 0;
    // Digest the online answers (the comparison: RecordedRequest::body_digest/head_digest).
    bool digest_answers = false;
    const CompiledNoiseRules* noise = nullptr;  // what is noise (nullptr: the defaults)

    // Archive replay streamed (source/stream_source.h) rather than a live capture: packets come
    // from files, ahead of the replay, and "now" is their capture time. Then requests keep
    // their recorded think times; no connection is dropped for the caps (the source reads no
    // further instead) nor cut; connections are oriented and selected as the archive builder
    // does (session_builder.h): without `port_given` every server port is replayed, the lower
    // port serving where neither is `server_port`; every connection not replayed is counted
    // once (other_port, not_selected, other_shard).
    bool archive = false;
    bool port_given = true;          // --port (archive): only connections to server_port
    uint32_t shard = 0, shards = 1;  // --shard I/N
    uint64_t from_ns = 0;            // --sessions FROM-TO: start offset from the first packet
    std::optional<uint64_t> to_ns;
};

struct LiveStats {
    uint64_t frames = 0;               // frames fed
    uint64_t tcp_packets = 0;          // decoded TCP segments
    net::SkipCounts skipped;           // frames that were not usable TCP segments
    uint64_t other_port = 0;           // segments with neither port the online port (archive:
                                       // connections to another port than --port)
    uint64_t other_shard = 0;          // archive: connections of the other shards (--shard)
    uint64_t connections = 0;          // new connections seen (client SYNs)
    uint64_t sessions = 0;             // sessions copied (with or without SYN)
    uint64_t mid_session = 0;          // of which already open at start: copied with a built SYN
    uint64_t mid_session_waiting = 0;  // open at start, no request boundary seen yet (now)
    uint64_t mid_session_never = 0;    // open at start, closed before any request boundary
    uint64_t mid_session_skipped_bytes = 0;  // their client bytes before the boundary
    uint64_t not_selected = 0;        // left out by --sample / --sessions (counted at the SYN)
    uint64_t other_family = 0;        // client of the other IP version (counted at the SYN)
    uint64_t dropped_cap = 0;         // connections not copied: --max-active reached
    uint64_t dropped_buffer = 0;      // new connections while the buffer was full
    uint64_t dropped_behind = 0;      // new connections while a copy was over max_lag behind
    uint64_t cut_behind = 0;          // sessions whose copies got no more requests: over max_lag
    uint64_t lag_ns = 0;              // how far the furthest-behind copy was at the last sweep
    uint64_t peak_lag_ns = 0;         // the most lag_ns ever was
    uint64_t dropped_tracking = 0;    // connections not tracked (max_tracked reached)
    uint64_t cut = 0;                 // sessions cut at max_session_bytes (copies end with RST)
    uint64_t cut_capture_loss = 0;    // live: sessions ended before their first request the
                                      // capture lost bytes of (copies close with FIN)
    uint64_t implausible = 0;         // segments far outside their connection: a new connection on
                                      // the tuple whose SYN the capture lost (the old one ended)
    uint64_t expired = 0;             // sessions idle for idle_ns (copies close with FIN)
    uint64_t ended_at_stop = 0;       // sessions still open when the copy stopped
    uint64_t copies_not_started = 0;  // no free client endpoint within --timeout
    uint64_t requests = 0;            // requests published
    uint64_t requests_unsent = 0;     // requests that began after every copy of them had ended
    uint64_t client_bytes = 0;        // client bytes published
    uint64_t missing_bytes = 0;       // client bytes the capture lost (the server acked them)
    uint64_t peak_sessions = 0;       // most sessions open at once
    uint64_t peak_buffer = 0;         // most client bytes buffered at once
    // First lines compared after the target's answer (the online answer came later).
    uint64_t status_match = 0, status_mismatch = 0, status_unknown = 0;
    std::vector<StatusMismatch> mismatch_examples;
};

class LiveSessions final : public SessionFeed {
  public:
    explicit LiveSessions(LiveConfig config);
    ~LiveSessions() override;
    LiveSessions(const LiveSessions&) = delete;
    LiveSessions& operator=(const LiveSessions&) = delete;

    // One captured frame (LINKTYPE_* `link_type`) captured at ts_ns (capture clock), arrived
    // at now_ns (monotonic; idle expiry).
    void add_frame(uint32_t link_type, uint64_t ts_ns, std::span<const uint8_t> frame,
                   uint64_t now_ns);
    void add_packet(const net::PacketView& view, std::span<const uint8_t> frame, uint64_t ts_ns,
                    uint64_t now_ns);

    // Sessions that began since the last call: start their copies (copy_started() each).
    void take_new(std::vector<uint32_t>& out);
    // Sessions whose requests, bytes, answers or close changed since the last call: wake
    // their copies (RawTransport::wake) and report the result with progress().
    void take_changed(std::vector<uint32_t>& out);

    // Bookkeeping of copies: started, or given up before they could start.
    void copy_started(uint32_t session);
    void copy_not_started(uint32_t session);
    // What every copy of `session` is done with (RawTransport::wake): frees older bytes and
    // requests.
    void progress(uint32_t session, const CopyProgress& p);

    // Ends connections idle since before now_ns - idle_ns (their copies close with FIN) and
    // releases sessions that are over (closed, lingered, no copy left).
    void expire(uint64_t now_ns);
    // The copy stops: every open session ends as captured so far (copies close with FIN).
    void close_all(uint64_t now_ns);
    // Archive: the input ended (before a --loop reads it again): every connection ends as
    // captured and is forgotten by tuple, so the next pass's connections are new ones; the
    // next pass's capture times are shifted by `next_shift_ns` (--sample decides as in the
    // first pass).
    void end_input(uint64_t now_ns, uint64_t next_shift_ns);

    // The sessions, indexed by session id (RawTransport and the drivers read them).
    const Recording& recording() const { return rec_; }
    const LiveStats& stats() const { return stats_; }
    size_t open_sessions() const { return copying_; }
    size_t tracked() const { return flows_.size(); }
    uint64_t buffered_bytes() const { return buffered_; }
    // Sessions whose connection is still open (not closed by the client, not expired).
    bool is_open(uint32_t session) const;

    // SessionFeed.
    RecordedRequest request(uint32_t session, uint32_t index) const override;
    uint32_t response_len(uint32_t session, uint32_t index) const override;
    uint32_t request_end(uint32_t session, uint32_t index) const override;
    std::span<const uint8_t> bytes(uint32_t session, uint32_t offset,
                                   uint32_t length) const override;
    std::optional<std::string_view> status_line(uint32_t session, uint32_t index) const override;
    std::string_view response_head(uint32_t session, uint32_t index) const override;
    void compare_later(uint32_t session, uint32_t index, const net::Endpoint& client,
                       std::string got, bool cut) override;
    void copy_ended(uint32_t session, uint32_t requests_done) override;

  private:
    struct Conn;

    Conn* find(uint32_t id);
    const Conn& conn(uint32_t id) const;
    uint32_t new_conn(Conversation conv);
    void free_conn(uint32_t id);
    void account(const Conn& c, size_t before);
    bool select(const net::Endpoint& client, const net::Endpoint& server, bool count);
    bool select_archive(const net::Endpoint& client, const net::Endpoint& server, uint64_t ts);
    bool src_is_client(const net::PacketView& v) const;
    bool track(const net::FlowKey& key, const net::PacketView& v, std::span<const uint8_t> frame,
               uint64_t ts, uint64_t now_ns);
    bool track_archive(const net::FlowKey& key, const net::PacketView& v,
                       std::span<const uint8_t> frame, uint64_t ts, uint64_t now_ns);
    bool admit(Conn& c);
    void begin_copying(uint32_t id, Conn& c);
    void boundary_packet(uint32_t id, Conn& c, const net::PacketView& v,
                         std::span<const uint8_t> frame, uint64_t ts, bool from_client);
    void client_packet(uint32_t id, Conn& c, const net::PacketView& v,
                       std::span<const uint8_t> frame, uint64_t ts);
    void server_packet(uint32_t id, Conn& c, const net::PacketView& v,
                       std::span<const uint8_t> frame, uint64_t ts);
    void publish(uint32_t id, Conn& c);
    void end_live(uint32_t id, Conn& c, uint64_t now_ns);
    void settle_waiting(Conn& c);
    void record_compare(uint32_t index, const net::Endpoint& client, const std::string& expected,
                        const std::string& got, bool cut);
    void drop_data(Conn& c);
    void changed(uint32_t id, Conn& c);

    LiveConfig cfg_;
    Recording rec_;  // sessions[id]: the published view of each session
    LiveStats stats_;
    std::vector<std::unique_ptr<Conn>> conns_;  // by id; null = free
    std::vector<uint32_t> free_ids_;
    std::unordered_map<net::FlowKey, uint32_t, net::FlowKeyHash> flows_;
    std::vector<uint32_t> new_, changed_;
    uint64_t first_ts_ = 0;     // capture time of the first packet
    uint64_t latest_ts_ = 0;    // capture time of the latest packet
    uint64_t latest_mono_ = 0;  // ... and when it came (monotonic)
    bool have_first_ = false;
    size_t copying_ = 0;  // sessions copied and not yet released
    uint64_t buffered_ = 0;
    uint64_t last_sweep_ = 0;
    uint64_t time_shift_ = 0;  // archive: added to this pass's capture times (--loop)
};

}  // namespace tcpr::replay
