#include "replayer/transport/answer_votes.h"

namespace tcpr::replay {

void AnswerVotes::vote(const AnswerKey& key, uint32_t endpoint, uint64_t digest, uint64_t recorded,
                       EndpointTable& table) {
    if (copies_ == 1) {
        decide(Vote{digest, endpoint, 1, digest != recorded ? 1u : 0u, false}, table);
        return;
    }
    Vote& v = votes_[key];
    if (v.seen == 0) {
        v.first = digest;
        v.endpoint = endpoint;
    } else if (digest != v.first) {
        v.noisy = true;
    }
    ++v.seen;
    v.differs += digest != recorded ? 1 : 0;
    if (v.seen >= copies_) {
        decide(v, table);
        votes_.erase(key);
    }
}

void AnswerVotes::settle(EndpointTable& table) {
    for (const auto& [key, v] : votes_) {
        decide(v, table);
    }
    votes_.clear();
}

void AnswerVotes::decide(const Vote& v, EndpointTable& table) {
    table.body_verdict(v.endpoint, v.seen, v.noisy ? 0 : v.differs, v.noisy ? v.seen : 0);
}

}  // namespace tcpr::replay
