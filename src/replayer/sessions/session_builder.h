// Turns captured packets into a Recording (recording.h): groups TCP segments into connections,
// orients each (client = SYN sender, else the side not on the server port), reassembles the
// client's byte stream (retransmissions and overlaps removed, TSO/GRO super-segments taken as
// they are, recorded checksums ignored), cuts it into requests by the RequestPolicy and measures
// what the server answered to each. Pure logic: the caller feeds decoded packets in file order.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/net/address_parse.h"
#include "common/net/ip_address.h"
#include "common/net/packet_view.h"
#include "replayer/sessions/recording.h"

namespace tcpr::replay {

// Where one request ends and the next begins (docs/replay.md, "Request boundaries").
// A client segment carrying new bytes starts a new request when
//  - split_on_ack: its acknowledgment number is beyond the one of the current request's first
//    segment, i.e. the recorded client had read new server data (an answer) before sending it;
//  - or pause_ns > 0 and at least pause_ns passed since the client's previous payload.
// The answer to request i is the server data the client acknowledged between the start of
// request i and the start of request i+1 (for the last one: all further server data).
// If the client's first payload acknowledges server data (the server spoke first: SMTP, MySQL),
// a request of length 0 comes first: replay waits for the target's greeting before sending.
//
// A connection captured without its handshake (the capture began while it was open) replays
// from its first request boundary: a client segment sent after reading an answer, or after
// pause_ns since the capture began or since its previous bytes, or, with recognize_starts,
// one whose bytes begin like a request of a protocol we know (an HTTP/1.x request line, a
// Redis RESP command: looks_like_request_start). What comes before is skipped and counted.
struct RequestPolicy {
    bool split_on_ack = true;
    uint64_t pause_ns = 1'000'000'000;  // 1 s; 0 disables
    bool recognize_starts = true;
};

// Do these client bytes begin an HTTP/1.x request line ("GET /", "POST /x", ...) or a Redis
// command in RESP ("*3\r\n$3...")? Used only to find the first whole request of a connection
// captured without its handshake.
bool looks_like_request_start(std::span<const uint8_t> bytes);

// The first request boundary of a connection captured without its handshake (RequestPolicy),
// one rule for the archive builder and live sessions: fed the connection's data segments until
// at_boundary() accepts a client segment.
class BoundaryWatch {
  public:
    // `capture_start_ns`: a pause counts from the capture's start until the client's bytes.
    explicit BoundaryWatch(uint64_t capture_start_ns = 0) : client_ts_(capture_start_ns) {}

    // Does this client segment with payload begin a request? After reading an answer (it
    // acknowledges all the server data seen since the client's previous bytes), after a pause
    // of the policy's length, or by its bytes (recognize_starts, looks_like_request_start).
    bool at_boundary(const RequestPolicy& policy, const net::PacketView& v,
                     std::span<const uint8_t> frame, uint64_t ts_ns) const;
    // A client segment with payload that was not at a boundary (skipped).
    void client_skipped(uint64_t ts_ns) {
        client_ts_ = ts_ns;
        server_spoke_ = false;
    }
    // Server payload before the boundary; true if it begins an answer (the first since the
    // client's last bytes).
    bool server_data(uint32_t seq, uint32_t len);

  private:
    uint64_t client_ts_;
    uint32_t server_end_ = 0;  // sequence number after the server data seen
    bool server_spoke_ = false;
};

// A client network for --sessions and --client-pool ("10.1.0.0/16", "fd00::/8").
using Cidr = net::Cidr;

// Which recorded connections become sessions (--port, --sessions, --sample).
struct Selection {
    std::optional<uint16_t> server_port;  // only connections to this port
    uint64_t from_ns = 0;                 // session start offset from the capture's start
    std::optional<uint64_t> to_ns;        // exclusive upper bound of that offset
    std::vector<Cidr> client_nets;        // client address in any of them (empty = all)
    double sample_percent = 100.0;        // per session, deterministic (hash of the tuple)
    uint64_t sample_seed = 0;
};

struct BuilderOptions {
    RequestPolicy policy;
    Selection selection;
    // Orients connections without a captured SYN when no --port is given (e.g. from an
    // archive's index: its most common server port). Without either, the lower port.
    std::optional<uint16_t> default_server_port;
    // A connection closed (FIN/RST) and quiet this long in capture time, or idle for
    // idle_ns, is complete: its memory is released early on long captures.
    uint64_t closed_linger_ns = 10'000'000'000ull;
    uint64_t idle_ns = 600'000'000'000ull;
};

class SessionBuilder {
  public:
    explicit SessionBuilder(BuilderOptions options = {});
    ~SessionBuilder();
    SessionBuilder(const SessionBuilder&) = delete;
    SessionBuilder& operator=(const SessionBuilder&) = delete;

    // One captured frame of link type `link_type` (LINKTYPE_* value), captured at ts_ns.
    void add_frame(uint32_t link_type, uint64_t ts_ns, std::span<const uint8_t> frame);
    // One decoded segment; `frame` holds the bytes `view` indexes into.
    void add_packet(const net::PacketView& view, std::span<const uint8_t> frame, uint64_t ts_ns);

    // Completes every open connection and returns the recording (sessions ordered by start).
    Recording finish();

    const BuildStats& stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The MSS and window-scale options of a SYN (net::tcp_options_of); a field stays as it was when
// its option is absent. Shared by the archive builder and live sessions.
void parse_syn_options(const net::PacketView& v, std::span<const uint8_t> frame, uint16_t& mss,
                       uint8_t& wscale);
// splitmix64 finaliser: a well-mixed 64-bit hash for per-session sampling decisions.
uint64_t mix64(uint64_t x);

}  // namespace tcpr::replay
