// The rules that cut a client's byte stream into requests (RequestPolicy) and find the first
// whole request of a connection captured without its handshake (BoundaryWatch,
// looks_like_request_start): one definition for every source of sessions (conversation.h), so
// archive replay and live passthrough cut the same capture the same way. Also the small
// readers of captured bytes they share: SYN options and an answer's first line.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/net/packet_view.h"

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

// The MSS and window-scale options of a SYN (net::tcp_options_of); a field stays as it was when
// its option is absent.
void parse_syn_options(const net::PacketView& v, std::span<const uint8_t> frame, uint16_t& mss,
                       uint8_t& wscale);

// The first request boundary of a connection captured without its handshake (RequestPolicy):
// fed the connection's data segments until at_boundary() accepts a client segment.
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

}  // namespace tcpr::replay
