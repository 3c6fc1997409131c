// The comparison per endpoint (sessions/endpoint_name.h): for each kind of request, how many were
// answered, how many answers' first lines differ from the recording, and the latency from the
// request's last byte to the answer's first and last byte, recorded and replayed, in mergeable
// histograms (common/base/log_histogram.h). Filled by the transports as answers end; printed by
// the report (the worst endpoints, and the JSON `endpoints` array).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/base/log_histogram.h"
#include "replayer/sessions/endpoint_name.h"
#include "replayer/sessions/recording.h"

namespace tcpr::replay {

struct EndpointStats {
    std::string name;
    uint64_t requests = 0;         // answers compared
    uint64_t status_mismatch = 0;  // first line differs from the recording's
    uint64_t body_compared = 0;    // answers whose body was compared (digests on both sides)
    uint64_t body_mismatch = 0;    // of which the body differs from the recording's
    // Of the compared: answers whose copies' bodies differ from each other (with --copies 2 or
    // more the same build answered the same request twice: what differs then is noise, not a
    // regression), not counted as mismatches.
    uint64_t body_noise = 0;
    // The same for the answers' HTTP headers (those the noise rules do not ignore, in any order;
    // AnswerDigest::head_digest).
    uint64_t head_compared = 0, head_mismatch = 0, head_noise = 0;
    // Microseconds from the request's last byte to the answer's first / last byte.
    LogHistogram recorded_first_us, replayed_first_us, recorded_last_us, replayed_last_us;

    void merge(const EndpointStats& o);
    // Replayed p50 latency over recorded p50 (first byte); 0 when either is unknown.
    double p50_change() const;
};

class EndpointTable {
  public:
    EndpointTable() = default;
    explicit EndpointTable(EndpointRules rules) : rules_(rules) {}

    // Endpoints beyond this many are counted under one name, "(other)".
    static constexpr size_t kMaxEndpoints = 10'000;

    // No endpoint yet (a session's first request has no previous one).
    static constexpr uint32_t kNone = 0xffff'ffffu;

    // The id of what `request` (its first bytes) asks for. Bytes of no known protocol that
    // follow a request of a known one in the same session (`previous`) continue it: an HTTP
    // body sent after "100 Continue" counts as "POST /upload (continued)".
    uint32_t id_of(std::span<const uint8_t> request, uint32_t previous = kNone);
    // The same for request `r` of `recording`: by the name the recording gave it
    // (RecordedRequest::endpoint, a table lookup), else from its bytes. One table serves one
    // recording.
    uint32_t id_of(const Recording& recording, const RecordedRequest& r,
                   std::span<const uint8_t> request, uint32_t previous);
    // One answer of endpoint `id`: `r` holds the recorded latencies; the replayed ones are
    // microseconds (kNoLatency: not measured). Bodies and heads are decided apart, by the copies'
    // votes (answer_votes.h: body_verdict, head_verdict).
    void record(uint32_t id, const RecordedRequest& r, bool status_mismatch, uint32_t first_us,
                uint32_t last_us);

    // Bodies of `compared` answers of endpoint `id` decided together (the copies of one
    // request): `mismatched` differ from the recording, `noise` were set aside as noise.
    void body_verdict(uint32_t id, uint64_t compared, uint64_t mismatched, uint64_t noise);
    // The same for their heads (headers).
    void head_verdict(uint32_t id, uint64_t compared, uint64_t mismatched, uint64_t noise);
    // A header whose value differed between the copies of one request (noise, by Diffy's
    // method): the report names them. At most kMaxNoisyHeaders names.
    void noisy_header(const std::string& name, uint64_t answers = 1);
    static constexpr size_t kMaxNoisyHeaders = 256;
    const std::map<std::string, uint64_t>& noisy_headers() const { return noisy_headers_; }

    const std::vector<EndpointStats>& all() const { return stats_; }
    // Endpoint `id`'s name ("" for kNone).
    std::string_view name_of(uint32_t id) const {
        return id < stats_.size() ? std::string_view(stats_[id].name) : std::string_view();
    }
    bool empty() const { return stats_.empty(); }
    // Adds another table's endpoints by name (several runs or replayers: exact).
    void merge(const EndpointTable& other);
    // Adds one endpoint's numbers under its name (a parsed report's row).
    void add(const EndpointStats& stats);
    // Endpoints worst first: most mismatches (status, body, headers), then the largest latency
    // change, then by name (so the order does not depend on which endpoint came first: merged
    // shard reports rank like one run).
    std::vector<const EndpointStats*> ranked() const;

  private:
    uint32_t id_of_name(const std::string& name, bool known);

    std::vector<EndpointStats> stats_;
    std::vector<bool> known_;  // by id: named by a protocol's rule (not by its first bytes)
    std::vector<uint32_t> recorded_ids_;  // Recording::endpoints index -> id (kNone: not yet)
    std::unordered_map<std::string, uint32_t> ids_;
    std::map<std::string, uint64_t> noisy_headers_;  // name -> answers
    EndpointRules rules_;
};

}  // namespace tcpr::replay
