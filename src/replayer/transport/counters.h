// What a replay run counts. Filled by the transports (their session drivers) and the run loop;
// printed by report/report.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "replayer/sessions/recording.h"
#include "replayer/transport/endpoint_stats.h"
#include "replayer/transport/lateness.h"

namespace tcpr::replay {

// One example of a kind of difference between the recorded and the replayed answer to one
// request (the HTML report shows them side by side). Text with non-printable bytes as '.'.
struct DifferenceExample {
    std::string kind;  // "status", "headers", "body"
    std::string endpoint;
    std::string client;  // replayed client endpoint
    uint32_t session = 0, request = 0;
    std::string request_head;        // the request's first bytes
    std::string recorded, replayed;  // the answers' heads and first body bytes (<= 2 KiB each)
};
// How many difference examples a run keeps: the first of each kind per endpoint, this many in
// all.
constexpr size_t kMaxDifferenceExamples = 50;

struct ReplayCounters {
    // Sessions (one per copy per loop).
    uint64_t sessions_planned = 0;  // sessions x copies x loops (before --duration)
    uint64_t sessions_started = 0;
    uint64_t sessions_completed = 0;
    uint64_t sessions_reset = 0;      // reset by the target before they were done
    uint64_t sessions_timed_out = 0;  // no progress within --timeout: we sent RST
    uint64_t sessions_aborted = 0;    // cut by the end of the run (--duration, Ctrl-C)
    // Of the aborted: intercept refused their tuple's registration, held by another replayer
    // (docs/intercept-protocol.md, "Registrations and routing"); no packet of them was sent
    // unless a refresh was refused.
    uint64_t sessions_refused_tuple_held = 0;
    uint64_t timed_out_intercept_down = 0;  // of the timed out: while intercept was unreachable
    uint64_t closed_early = 0;  // target closed before every request was sent or answered
    // Of the completed: the target closed without answering a request it answered in the
    // recording (counted as failed).
    uint64_t sessions_unanswered = 0;
    uint64_t closed_with_reset = 0;  // target never sent its FIN: we reset after fin-wait
    uint64_t endpoint_waits = 0;     // starts delayed: no free client endpoint

    // Requests and responses.
    uint64_t requests_sent = 0;          // requests whose bytes were released (sent)
    uint64_t requests_unsent = 0;        // requests left when a session ended early
    uint64_t responses_seen = 0;         // requests the target answered with >= 1 byte
    uint64_t requests_unanswered = 0;    // sent, answered in the recording, but the target
                                         //   closed the connection without answering
    uint64_t responses_complete = 0;     // answered with at least the recorded length
    uint64_t responses_quiet = 0;        // done by the quiet period with fewer bytes
    uint64_t response_bytes = 0;         // target payload bytes (by sequence space)
    uint64_t response_bytes_unseen = 0;  // of which never reported by intercept (holes)
    uint64_t status_match = 0;           // first line equal to the recording's
    uint64_t status_mismatch = 0;
    uint64_t status_unknown = 0;                    // recording or report lacked the first bytes
    std::vector<StatusMismatch> mismatch_examples;  // at most kMaxExamples
    // The comparison per endpoint (empty with --no-compare).
    EndpointTable endpoints;
    std::vector<DifferenceExample> difference_examples;  // at most kMaxDifferenceExamples

    // Packets.
    uint64_t packets_sent = 0;
    uint64_t bytes_sent = 0;          // IP bytes
    uint64_t payload_bytes_sent = 0;  // TCP payload bytes, retransmissions included
    uint64_t retransmissions = 0;     // data/FIN segments sent again (timeout or dup ACKs)
    // Of the timeout retransmissions: acknowledged sooner than half a round trip after they
    // left, so the target had the originals (our timer was early). The others were dropped by
    // the target (e.g. its accept queue overflowing) or the network.
    uint64_t retransmissions_spurious = 0;
    uint64_t syn_retransmissions = 0;
    // Sessions whose SYN was answered with an ACK of an older connection on the same tuple
    // (the target's TIME_WAIT after an earlier run, or a connection a killed run left open):
    // reset at the acknowledged sequence number and the SYN sent again (RFC 9293 3.10.7.3).
    uint64_t syn_tuple_in_use = 0;
    uint64_t send_would_block = 0;  // dropped: kernel queue full
    uint64_t send_refused = 0;      // refused by the target guard (a bug if ever > 0)
    uint64_t send_failed = 0;

    // Intercept.
    uint64_t reports = 0;            // reports received
    uint64_t reports_unmatched = 0;  // for no live session of ours (late or stray)
    uint64_t intercept_reconnects = 0;
    uint64_t intercept_disconnects = 0;

    // Timing: each session's first packet (SYN) vs its scheduled start, measured when the run
    // loop's iteration that sends it began (timer wake-up precision plus loop work).
    LatenessHistogram start_lateness;

    // Socket transport (socket_transport.h): how connections failed, and every response's
    // length compared with the recording (raw replay leaves these at 0).
    uint64_t sessions_conn_error = 0;  // connect/connection errors other than a reset or timeout
    uint64_t connect_refused = 0;      // of sessions_reset: connection refused
    uint64_t connect_timed_out = 0;    // of sessions_timed_out: not connected within --timeout
    uint64_t length_equal = 0;         // responses exactly as long as recorded
    uint64_t length_longer = 0;
    uint64_t length_shorter = 0;
    uint64_t responses_differ = 0;  // status line or length differs (--diff lists them)

    static constexpr size_t kMaxExamples = kMaxMismatchExamples;

    uint64_t sessions_done() const {
        return sessions_completed + sessions_reset + sessions_timed_out + sessions_aborted +
               sessions_conn_error;
    }
    uint64_t sessions_failed() const {
        return sessions_reset + sessions_timed_out + sessions_aborted + sessions_conn_error;
    }
};

}  // namespace tcpr::replay
