// --report requests FILE: every replayed answer compared with the recorded one, one JSON object
// per line (JSON Lines): which request (session, loop, request, copy's client, endpoint), the
// recorded answer (first line, length, body and head digests, latency to its first and last
// byte) and the replayed one (the same fields, measured at replay), and the verdicts. Written
// under a temporary name while the run goes on and published at its end (docs/replay.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/net/flow_key.h"
#include "common/os/files.h"
#include "replayer/sessions/answer_digest.h"
#include "replayer/sessions/recording.h"

namespace tcpr::replay {

// One side of a compared answer. Digests 0 and latencies kNoLatency: not known.
struct AnswerFacts {
    std::string_view status;  // first line
    uint64_t length = 0;
    uint64_t body_digest = 0, head_digest = 0;
    uint32_t first_us = kNoLatency, last_us = kNoLatency;
};

struct RequestEntry {
    uint32_t session = 0, loop = 0, request = 0;
    net::Endpoint client;  // the copy's client endpoint
    std::string_view endpoint;
    AnswerFacts recorded, replayed;
};

// The replayed side's digests from the answer's AnswerDigest (0 where not known: bytes
// missing, the body incomplete, no HTTP head).
void take_digests(const AnswerDigest& d, AnswerFacts& f);

// The entry as one line of JSON (with its newline).
std::string format_request_entry(const RequestEntry& e);

class RequestLog {
  public:
    // Throws Error(Io) "cannot open '<path>': ..." before the run starts.
    explicit RequestLog(const std::string& path);
    void add(const RequestEntry& e);
    // Publishes the file. Throws Error(Io) on a write failure.
    void commit();
    uint64_t entries() const { return entries_; }
    const std::string& path() const { return file_.path(); }

  private:
    os::AtomicFile file_;
    std::string pending_;  // written in 64 KiB pieces
    uint64_t entries_ = 0;
};

}  // namespace tcpr::replay
