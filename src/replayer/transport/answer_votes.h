// The answers of one recorded request's copies, decided together: with --copies 2 or more the
// same build answers the same request several times, and bodies or headers that differ between
// copies differ by noise (a timestamp, a random id), not by a regression (Diffy's method). Both
// transports vote here; the verdicts go to the endpoint table, with the names of the headers
// found to differ between copies.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/base/hash.h"
#include "replayer/sessions/answer_digest.h"
#include "replayer/sessions/recording.h"
#include "replayer/transport/counters.h"
#include "replayer/transport/endpoint_stats.h"

namespace tcpr::replay {

// Which answer: the recorded session, the loop over the recording, the request in the session.
struct AnswerKey {
    uint32_t session = 0, loop = 0, request = 0;
    bool operator==(const AnswerKey&) const = default;
};

// What a difference example shows of one copy (ReplayCounters::difference_examples).
struct AnswerSeen {
    std::string_view recorded_head;          // the recorded answer's first bytes
    std::span<const uint8_t> replayed_head;  // the replayed answer's first bytes
    std::span<const uint8_t> request;        // the request's first bytes
    net::Endpoint client;                    // the copy's client endpoint
};

class AnswerVotes {
  public:
    // `rules` (nullptr: the defaults) say which headers are ignored; they must outlive this.
    explicit AnswerVotes(uint32_t copies, const CompiledNoiseRules* rules = nullptr)
        : copies_(copies == 0 ? 1 : copies), rules_(rules) {}

    // One copy's answer `answer` to request `key` of endpoint `endpoint`, recorded as `r`: its
    // body is compared when both digests are known and the answer is complete, its head when
    // both head digests are known. Decided (into `table`) when every copy has voted; at once
    // with one copy.
    // A copy that differs from the recording keeps `seen` for an example of the difference.
    void vote(const AnswerKey& key, uint32_t endpoint, const AnswerDigest& answer,
              const RecordedRequest& r, const AnswerSeen& seen, ReplayCounters& counters);
    // Requests some of whose copies never answered (failed sessions, the end of the run):
    // decided on the copies that did.
    void settle(ReplayCounters& counters);
    bool empty() const { return votes_.empty(); }

  private:
    using Headers = std::vector<std::pair<std::string, uint64_t>>;  // sorted (name, value hash)
    struct Part {
        uint64_t first = 0;              // the first copy's digest
        uint32_t seen = 0, differs = 0;  // copies compared; of which differ from the recording
        bool noisy = false;              // two copies differ
        void add(uint64_t digest, uint64_t recorded);
    };
    struct Vote {
        uint32_t endpoint = 0;
        uint32_t seen = 0;  // copies that voted
        Part body, head;
        Headers first_headers;                       // the first head's (with copies >= 2)
        std::vector<std::string> noisy;              // headers that differed between copies
        std::unique_ptr<DifferenceExample> example;  // the first copy that differs
    };
    struct KeyHash {
        size_t operator()(const AnswerKey& k) const {
            return static_cast<size_t>(
                mix64((uint64_t{k.session} << 32 | k.request) ^ mix64(k.loop + 1)));
        }
    };
    Headers compared_headers(const AnswerDigest& answer) const;
    void decide(Vote& v, const AnswerKey& key, ReplayCounters& counters);
    bool wants_example(uint32_t endpoint, bool body, bool head) const;
    static std::unique_ptr<DifferenceExample> example_of(const AnswerSeen& seen);

    // Which kinds of example each endpoint has (bit 1: body, bit 2: headers): an example is
    // built only for a kind its endpoint lacks.
    std::vector<uint8_t> exampled_;
    uint32_t copies_;
    const CompiledNoiseRules* rules_;
    std::unordered_map<AnswerKey, Vote, KeyHash> votes_;
};

}  // namespace tcpr::replay
