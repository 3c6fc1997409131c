// What the replayer replays: every selected recorded TCP connection reduced to its client half
// (the bytes the client sent, cut into requests) and a summary of the server half (how much it
// answered to each request and the first line of each answer). Immutable once built and shared
// by every copy and loop of a session; payload bytes live in one arena, addressed by offsets.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/stats.h"
#include "common/net/flow_key.h"
#include "common/net/skip_reason.h"

namespace tcpr::replay {

// RecordedRequest::endpoint when the request was not named.
constexpr uint32_t kNoEndpoint = 0xffff'ffffu;

// A latency that was not measured (no answer, or no request byte to count from).
constexpr uint32_t kNoLatency = 0xffff'ffffu;
// Nanoseconds as the microseconds a RecordedRequest holds (capped below kNoLatency).
constexpr uint32_t latency_us(uint64_t ns) {
    return ns / 1000 >= kNoLatency ? kNoLatency - 1 : static_cast<uint32_t>(ns / 1000);
}

struct RecordedRequest {
    uint32_t begin = 0;         // offset in the session's client stream
    uint32_t length = 0;        // bytes; 0 = nothing to send, only wait (server speaks first)
    uint32_t response_len = 0;  // server bytes the recorded client read in answer to it
    uint32_t status_off = 0;    // the recorded answer's first line, in Recording::text
    uint16_t status_len = 0;    // 0 = not captured
    uint16_t head_len = 0;      // the answer's first bytes as captured (<= 64), raw, in
    uint32_t head_off = 0;      //   Recording::text (for --diff); 0 = not captured
    uint64_t think_ns = 0;      // recorded pause before it (after the last earlier packet)
    // Recorded latency from the request's last byte to its answer's first and last byte, in
    // microseconds (kNoLatency: no answer, or not measurable).
    uint32_t answer_first_us = kNoLatency, answer_last_us = kNoLatency;
    // AnswerDigest of the recorded answer's body (answer_digest.h); 0: not known (bytes the
    // capture lacks, or digests off).
    uint64_t body_digest = 0;
    // AnswerDigest::head_digest of the recorded answer's HTTP head (the headers the noise rules
    // do not ignore); 0: not known (no HTTP head, not captured, or digests off).
    uint64_t head_digest = 0;
    // Its endpoint (endpoint_name.h) as an index into Recording::endpoints, named once when the
    // recording was built; kNoEndpoint: not named (live input: named when replayed).
    uint32_t endpoint = kNoEndpoint;
};

enum class CloseKind : uint8_t { None, Fin, Rst };

struct RecordedSession {
    net::Endpoint client, server;
    uint64_t start_ns = 0, end_ns = 0;  // recorded times of its first and last packet
    uint64_t rtt_ns = 0;                // SYN -> client's handshake ACK; 0 = unknown
    uint64_t stream_off = 0;            // client bytes in Recording::arena
    uint32_t stream_len = 0;
    uint32_t first_request = 0, request_count = 0;  // in Recording::requests
    uint64_t close_think_ns = 0;                    // recorded pause before the client's FIN/RST
    uint32_t client_isn = 0;            // recorded ISN (SYN's seq), or first seen seq - 1
    uint32_t missing_bytes = 0;         // client bytes absent from the capture (sent as zeros)
    uint16_t mss = 0;                   // MSS option of the recorded SYN, 0 = none/not captured
    uint8_t window_scale = 0xff;        // window scale option of the recorded SYN, 0xff = none
    bool has_syn = false;               // false: mid-session capture, the SYN is built
    bool server_closed_first = false;   // the server's FIN came before the client closed
    CloseKind close = CloseKind::None;  // how the client ended it (None: capture ended first)
    bool open = false;                  // live: more requests may come (session_feed.h)
    bool shed = false;  // live: over --max-lag: each copy ends after the request it is on
};

// Counters of what the builder read and what it made of it.
struct BuildStats {
    uint64_t records = 0;       // frames read
    uint64_t tcp_packets = 0;   // decoded TCP segments
    net::SkipCounts skipped;    // frames that were not usable TCP segments, by reason
    uint64_t connections = 0;   // TCP connections seen (generations counted)
    uint64_t other_port = 0;    // connections not to the selected server port
    uint64_t not_selected = 0;  // left out by --sessions / --sample
    uint64_t other_shard = 0;   // left to the other shards (--shard)
    uint64_t without_data = 0;  // mid-session connections with no client payload
    // Connections captured without their handshake: client bytes before their first request
    // boundary (the tail of a request) and answers to requests the capture lacks, skipped;
    // connections that ended before any boundary (not replayed).
    uint64_t mid_session_skipped_bytes = 0;
    uint64_t mid_session_skipped_answers = 0;
    uint64_t mid_session_no_boundary = 0;
    uint64_t sessions = 0;     // replayable sessions built
    uint64_t mid_session = 0;  // of which without a captured SYN (SYN built)
    uint64_t requests = 0;
    uint64_t client_bytes = 0;
    uint64_t missing_bytes = 0;       // client payload absent from the capture (zeros sent)
    uint64_t oversized_segments = 0;  // client segments > 1460 bytes (TSO/GRO captures)
};

struct Recording {
    std::vector<RecordedSession> sessions;  // ordered by start_ns
    std::vector<RecordedRequest> requests;
    std::vector<uint8_t> arena;          // client payload bytes
    std::string text;                    // recorded status lines
    std::vector<std::string> endpoints;  // endpoint names (RecordedRequest::endpoint)
    uint64_t first_ns = 0, last_ns = 0;  // recorded time span of the input
    BuildStats stats;

    std::span<const uint8_t> stream(const RecordedSession& s) const {
        return {arena.data() + s.stream_off, s.stream_len};
    }
    std::span<const RecordedRequest> requests_of(const RecordedSession& s) const {
        return {requests.data() + s.first_request, s.request_count};
    }
    std::string_view status_line(const RecordedRequest& r) const {
        return std::string_view(text).substr(r.status_off, r.status_len);
    }
    std::string_view response_head(const RecordedRequest& r) const {
        return std::string_view(text).substr(r.head_off, r.head_len);
    }
    uint64_t span_ns() const { return last_ns > first_ns ? last_ns - first_ns : 0; }
    uint64_t total_requests() const { return requests.size(); }
};

// A response whose first line differs from the recording's (the report shows a few examples).
struct StatusMismatch {
    std::string client;    // replayed client endpoint
    uint32_t session = 0;  // index in the recording
    uint32_t request = 0;  // request number inside the session (0-based)
    std::string expected, got;
};
// How many StatusMismatch examples a run keeps.
constexpr size_t kMaxMismatchExamples = 5;

// The first line of a response head ("HTTP/1.1 200 OK"): up to CR/LF, at most 64 bytes,
// non-printable bytes shown as '.'. Empty if `head` is empty.
std::string first_line(std::span<const uint8_t> head);

}  // namespace tcpr::replay
