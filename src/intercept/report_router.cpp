#include "intercept/report_router.h"

namespace tcpr::icpt {

void ReportRouter::forget_one(ReplayerId who) {
    const auto it = owned_.find(who);
    if (it != owned_.end() && --it->second == 0) {
        owned_.erase(it);
    }
}

ReportRouter::AddOutcome ReportRouter::add(ReplayerId who, const wire::Tuple& t, SteadyTime now) {
    const auto [it, inserted] = table_.try_emplace(t, Entry{who, now});
    if (inserted) {
        ++owned_[who];
        ++counters_.added;
        return AddOutcome::Added;
    }
    Entry& e = it->second;
    const bool was_expired = expired(e, now);
    const ReplayerId previous = e.owner;
    const SteadyTime then = e.last_used;
    e.last_used = now;
    if (previous == who) {
        if (was_expired) {
            ++counters_.expired;
            ++counters_.added;
            return AddOutcome::Added;
        }
        ++counters_.refreshed;
        return AddOutcome::Refreshed;
    }
    if (!was_expired) {
        e.last_used = then;  // a refusal is no use of the owner's registration
        ++counters_.refused;
        return AddOutcome::Refused;
    }
    e.owner = who;
    forget_one(previous);
    ++owned_[who];
    ++counters_.expired;
    ++counters_.added;
    return AddOutcome::Added;
}

bool ReportRouter::remove(ReplayerId who, const wire::Tuple& t) {
    const auto it = table_.find(t);
    if (it == table_.end() || it->second.owner != who) {
        return false;
    }
    table_.erase(it);
    forget_one(who);
    ++counters_.removed;
    return true;
}

size_t ReportRouter::drop_replayer(ReplayerId who) {
    const auto owned = owned_.find(who);
    if (owned == owned_.end()) {
        return 0;
    }
    owned_.erase(owned);
    size_t n = 0;
    for (auto it = table_.begin(); it != table_.end();) {
        if (it->second.owner == who) {
            it = table_.erase(it);
            ++n;
        } else {
            ++it;
        }
    }
    counters_.dropped_with_replayer += n;
    return n;
}

std::optional<ReplayerId> ReportRouter::route(const wire::Tuple& t, SteadyTime now) {
    const auto it = table_.find(t);
    if (it == table_.end()) {
        return std::nullopt;
    }
    if (expired(it->second, now)) {
        forget_one(it->second.owner);
        table_.erase(it);
        ++counters_.expired;
        return std::nullopt;
    }
    it->second.last_used = now;
    return it->second.owner;
}

size_t ReportRouter::expire(SteadyTime now) {
    size_t n = 0;
    for (auto it = table_.begin(); it != table_.end();) {
        if (expired(it->second, now)) {
            forget_one(it->second.owner);
            it = table_.erase(it);
            ++n;
        } else {
            ++it;
        }
    }
    counters_.expired += n;
    return n;
}

size_t ReportRouter::owned_by(ReplayerId who) const {
    const auto it = owned_.find(who);
    return it == owned_.end() ? 0 : it->second;
}

}  // namespace tcpr::icpt
