#include "replayer/transport/answer_votes.h"

#include <algorithm>

namespace tcpr::replay {

void AnswerVotes::Part::add(uint64_t digest, uint64_t recorded) {
    if (seen == 0) {
        first = digest;
    } else if (digest != first) {
        noisy = true;
    }
    ++seen;
    differs += digest != recorded ? 1 : 0;
}

// The headers a head digest covers (not ignored by the rules), sorted.
AnswerVotes::Headers AnswerVotes::compared_headers(const AnswerDigest& answer) const {
    const CompiledNoiseRules& rules = rules_ != nullptr ? *rules_ : CompiledNoiseRules::defaults();
    Headers out;
    for (const AnswerDigest::Header& h : answer.headers()) {
        if (!rules.ignores_header(h.name)) {
            out.emplace_back(std::string(h.name), h.value_hash);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

void AnswerVotes::vote(const AnswerKey& key, uint32_t endpoint, const AnswerDigest& answer,
                       const RecordedRequest& r, EndpointTable& table) {
    const bool body = r.body_digest != 0 && answer.known() && answer.complete();
    const bool head = r.head_digest != 0 && answer.known() && answer.head_complete();
    if (!body && !head) {
        return;
    }
    Vote one;
    Vote& v = copies_ == 1 ? one : votes_[key];
    v.endpoint = endpoint;
    ++v.seen;
    if (body) {
        v.body.add(answer.value(), r.body_digest);
    }
    if (head) {
        const uint64_t digest = answer.head_digest();
        if (copies_ > 1 && v.head.seen == 0) {
            v.first_headers = compared_headers(answer);
        } else if (copies_ > 1 && digest != v.head.first) {
            // Which headers differ from the first copy's: noise the report names.
            const Headers mine = compared_headers(answer);
            Headers diff;
            std::set_symmetric_difference(v.first_headers.begin(), v.first_headers.end(),
                                          mine.begin(), mine.end(), std::back_inserter(diff));
            for (const auto& [name, hash] : diff) {
                if (std::find(v.noisy.begin(), v.noisy.end(), name) == v.noisy.end()) {
                    v.noisy.push_back(name);
                }
            }
        }
        v.head.add(digest, r.head_digest);
    }
    if (copies_ == 1) {
        decide(v, table);
    } else if (v.seen >= copies_) {
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
    const Part& b = v.body;
    if (b.seen > 0) {
        table.body_verdict(v.endpoint, b.seen, b.noisy ? 0 : b.differs, b.noisy ? b.seen : 0);
    }
    const Part& h = v.head;
    if (h.seen > 0) {
        table.head_verdict(v.endpoint, h.seen, h.noisy ? 0 : h.differs, h.noisy ? h.seen : 0);
    }
    for (const std::string& name : v.noisy) {
        table.noisy_header(name);
    }
}

}  // namespace tcpr::replay
