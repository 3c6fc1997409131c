#include "replayer/transport/endpoint_stats.h"

#include <algorithm>

namespace tcpr::replay {

void EndpointStats::merge(const EndpointStats& o) {
    requests += o.requests;
    status_mismatch += o.status_mismatch;
    body_compared += o.body_compared;
    body_mismatch += o.body_mismatch;
    body_noise += o.body_noise;
    head_compared += o.head_compared;
    head_mismatch += o.head_mismatch;
    head_noise += o.head_noise;
    recorded_first_us.merge(o.recorded_first_us);
    replayed_first_us.merge(o.replayed_first_us);
    recorded_last_us.merge(o.recorded_last_us);
    replayed_last_us.merge(o.replayed_last_us);
}

double EndpointStats::p50_change() const {
    const uint64_t rec = recorded_first_us.percentile(0.5);
    const uint64_t rep = replayed_first_us.percentile(0.5);
    if (recorded_first_us.count() == 0 || replayed_first_us.count() == 0) {
        return 0;
    }
    return static_cast<double>(std::max<uint64_t>(rep, 1)) /
           static_cast<double>(std::max<uint64_t>(rec, 1));
}

uint32_t EndpointTable::id_of_name(const std::string& name, bool known) {
    if (const auto it = ids_.find(name); it != ids_.end()) {
        return it->second;
    }
    if (stats_.size() + 1 >= kMaxEndpoints && name != "(other)") {
        return id_of_name("(other)", false);  // the last place is kept for the rest
    }
    const auto id = static_cast<uint32_t>(stats_.size());
    stats_.emplace_back();
    stats_.back().name = name;
    known_.push_back(known);
    ids_.emplace(name, id);
    return id;
}

uint32_t EndpointTable::id_of(std::span<const uint8_t> request, uint32_t previous) {
    const EndpointName n = endpoint_name(request, rules_);
    if (!n.known && previous < stats_.size() && known_[previous]) {
        const std::string& base = stats_[previous].name;
        const std::string_view suffix = " (continued)";
        const bool continued =
            base.size() >= suffix.size() &&
            base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0;
        return id_of_name(continued ? base : base + std::string(suffix), true);
    }
    return id_of_name(n.name, n.known);
}

uint32_t EndpointTable::id_of(const Recording& recording, const RecordedRequest& r,
                              std::span<const uint8_t> request, uint32_t previous) {
    if (r.endpoint == kNoEndpoint || r.endpoint >= recording.endpoints.size()) {
        return id_of(request, previous);
    }
    if (r.endpoint >= recorded_ids_.size()) {
        recorded_ids_.resize(recording.endpoints.size(), kNone);
    }
    uint32_t& id = recorded_ids_[r.endpoint];
    if (id == kNone) {
        id = id_of_name(recording.endpoints[r.endpoint], true);
    }
    return id;
}

void EndpointTable::record(uint32_t id, const RecordedRequest& r, bool status_mismatch,
                           uint32_t first_us, uint32_t last_us) {
    if (id >= stats_.size()) {
        return;
    }
    EndpointStats& e = stats_[id];
    ++e.requests;
    e.status_mismatch += status_mismatch ? 1 : 0;
    if (r.answer_first_us != kNoLatency) {
        e.recorded_first_us.add(r.answer_first_us);
        e.recorded_last_us.add(r.answer_last_us);
    }
    if (first_us != kNoLatency) {
        e.replayed_first_us.add(first_us);
    }
    if (last_us != kNoLatency) {
        e.replayed_last_us.add(last_us);
    }
}

void EndpointTable::body_verdict(uint32_t id, uint64_t compared, uint64_t mismatched,
                                 uint64_t noise) {
    if (id >= stats_.size()) {
        return;
    }
    stats_[id].body_compared += compared;
    stats_[id].body_mismatch += mismatched;
    stats_[id].body_noise += noise;
}

void EndpointTable::head_verdict(uint32_t id, uint64_t compared, uint64_t mismatched,
                                 uint64_t noise) {
    if (id >= stats_.size()) {
        return;
    }
    stats_[id].head_compared += compared;
    stats_[id].head_mismatch += mismatched;
    stats_[id].head_noise += noise;
}

void EndpointTable::noisy_header(const std::string& name, uint64_t answers) {
    if (noisy_headers_.size() < kMaxNoisyHeaders || noisy_headers_.count(name) != 0) {
        noisy_headers_[name] += answers;
    }
}

void EndpointTable::merge(const EndpointTable& other) {
    for (size_t i = 0; i < other.stats_.size(); ++i) {
        stats_[id_of_name(other.stats_[i].name, other.known_[i])].merge(other.stats_[i]);
    }
    for (const auto& [name, n] : other.noisy_headers_) {
        noisy_header(name, n);
    }
}

void EndpointTable::add(const EndpointStats& stats) {
    stats_[id_of_name(stats.name, true)].merge(stats);  // "(other)" beyond kMaxEndpoints
}

std::vector<const EndpointStats*> EndpointTable::ranked() const {
    std::vector<const EndpointStats*> out;
    for (const EndpointStats& e : stats_) {
        out.push_back(&e);
    }
    std::stable_sort(out.begin(), out.end(), [](const EndpointStats* a, const EndpointStats* b) {
        const uint64_t bad_a = a->status_mismatch + a->body_mismatch + a->head_mismatch;
        const uint64_t bad_b = b->status_mismatch + b->body_mismatch + b->head_mismatch;
        if (bad_a != bad_b) {
            return bad_a > bad_b;
        }
        const double change_a = a->p50_change(), change_b = b->p50_change();
        if (change_a != change_b) {
            return change_a > change_b;
        }
        return a->name < b->name;
    });
    return out;
}

}  // namespace tcpr::replay
