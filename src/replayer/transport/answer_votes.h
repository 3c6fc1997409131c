// The bodies of one recorded request's copies, decided together: with --copies 2 or more the
// same build answers the same request several times, and bodies that differ between copies
// differ by noise (a timestamp, a random id), not by a regression (Diffy's method). Both
// transports vote here; the verdicts go to the endpoint table.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "common/base/hash.h"
#include "replayer/transport/endpoint_stats.h"

namespace tcpr::replay {

// Which answer: the recorded session, the loop over the recording, the request in the session.
struct AnswerKey {
    uint32_t session = 0, loop = 0, request = 0;
    bool operator==(const AnswerKey&) const = default;
};

class AnswerVotes {
  public:
    explicit AnswerVotes(uint32_t copies) : copies_(copies == 0 ? 1 : copies) {}

    // One copy's body digest for the request `key` of endpoint `endpoint`, whose recorded digest
    // is `recorded`. Decided (into `table`) when every copy has voted; at once with one copy.
    void vote(const AnswerKey& key, uint32_t endpoint, uint64_t digest, uint64_t recorded,
              EndpointTable& table);
    // Requests some of whose copies never answered (failed sessions, the end of the run):
    // decided on the copies that did.
    void settle(EndpointTable& table);
    bool empty() const { return votes_.empty(); }

  private:
    struct Vote {
        uint64_t first = 0;  // the first copy's digest
        uint32_t endpoint = 0;
        uint32_t seen = 0, differs = 0;  // copies compared; of which differ from the recording
        bool noisy = false;              // two copies' bodies differ
    };
    struct KeyHash {
        size_t operator()(const AnswerKey& k) const {
            return static_cast<size_t>(
                mix64((uint64_t{k.session} << 32 | k.request) ^ mix64(k.loop + 1)));
        }
    };
    static void decide(const Vote& v, EndpointTable& table);

    uint32_t copies_;
    std::unordered_map<AnswerKey, Vote, KeyHash> votes_;
};

}  // namespace tcpr::replay
