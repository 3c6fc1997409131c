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
                       const RecordedRequest& r, const AnswerSeen& seen, ReplayCounters& counters) {
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
    const bool body_differs = body && answer.value() != r.body_digest;
    const bool head_differs = head && answer.head_digest() != r.head_digest;
    if (!v.example && counters.difference_examples.size() < kMaxDifferenceExamples &&
        wants_example(endpoint, body_differs, head_differs)) {
        v.example = example_of(seen);
    }
    if (copies_ == 1) {
        decide(v, key, counters);
    } else if (v.seen >= copies_) {
        decide(v, key, counters);
        votes_.erase(key);
    }
}

void AnswerVotes::settle(ReplayCounters& counters) {
    for (auto& [key, v] : votes_) {
        decide(v, key, counters);
    }
    votes_.clear();
}

namespace {

// Bytes as text for an example: printable ASCII and line breaks kept, the rest as '.'.
std::string shown(std::span<const uint8_t> bytes) {
    std::string o;
    for (const uint8_t b : bytes) {
        o += (b >= 0x20 && b < 0x7f) || b == '\n' ? static_cast<char>(b) : b == '\r' ? '\0' : '.';
    }
    o.erase(std::remove(o.begin(), o.end(), '\0'), o.end());
    return o;
}

}  // namespace

bool AnswerVotes::wants_example(uint32_t endpoint, bool body, bool head) const {
    const uint8_t have = endpoint < exampled_.size() ? exampled_[endpoint] : 0;
    return (body && (have & 1) == 0) || (head && (have & 2) == 0);
}

std::unique_ptr<DifferenceExample> AnswerVotes::example_of(const AnswerSeen& seen) {
    auto e = std::make_unique<DifferenceExample>();
    e->client = seen.client.to_string();
    e->request_head = shown(seen.request.first(std::min<size_t>(seen.request.size(), 256)));
    e->recorded = shown(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(seen.recorded_head.data()), seen.recorded_head.size()));
    e->replayed = shown(seen.replayed_head);
    return e;
}

void AnswerVotes::decide(Vote& v, const AnswerKey& key, ReplayCounters& counters) {
    EndpointTable& table = counters.endpoints;
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
    // An example of each kind of difference per endpoint (not of noise).
    const bool body_bad = b.seen > 0 && !b.noisy && b.differs > 0;
    const bool head_bad = h.seen > 0 && !h.noisy && h.differs > 0;
    if (!v.example || (!body_bad && !head_bad) || v.endpoint >= table.all().size()) {
        return;
    }
    const std::string& name = table.all()[v.endpoint].name;
    auto& examples = counters.difference_examples;
    if (exampled_.size() <= v.endpoint) {
        exampled_.resize(v.endpoint + 1, 0);
    }
    for (const char* kind : {"body", "headers"}) {
        const uint8_t bit = std::string_view(kind) == "body" ? 1 : 2;
        const bool bad = bit == 1 ? body_bad : head_bad;
        const bool have = (exampled_[v.endpoint] & bit) != 0;
        if (bad && !have && examples.size() < kMaxDifferenceExamples) {
            exampled_[v.endpoint] |= bit;
            DifferenceExample e = *v.example;
            e.kind = kind;
            e.endpoint = name;
            e.session = key.session;
            e.request = key.request;
            examples.push_back(std::move(e));
        }
    }
}

}  // namespace tcpr::replay
