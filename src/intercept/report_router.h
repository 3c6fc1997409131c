// Which replayer owns which connection: exact (client, server) tuples, with expiry.
// Pure logic, no I/O: time is passed in. The key is the whole tuple (equality compares every
// field); the hash only picks a bucket, so two tuples can never be confused (tcpcopy's
// intercept keys on 16 bits of a hash and never deletes, and so misroutes under load).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "common/wire/intercept_protocol.h"

namespace tcpr::icpt {

using ReplayerId = uint64_t;
using SteadyTime = std::chrono::steady_clock::time_point;

class ReportRouter {
  public:
    // A registration neither refreshed nor used for `expiry` is dropped. A live registration
    // belongs to its replayer until it unregisters it, it expires or the replayer disconnects:
    // another replayer's registration of it is refused (no takeover).
    explicit ReportRouter(std::chrono::nanoseconds expiry) : expiry_(expiry) {}

    enum class AddOutcome {
        Added,      // new (or replacing an expired registration)
        Refreshed,  // already registered by the same replayer: idle timer restarted
        Refused,    // registered by another replayer (not expired): it keeps it, counted
    };
    AddOutcome add(ReplayerId who, const wire::Tuple& t, SteadyTime now);

    // Removes `t` if `who` owns it; false when it is unknown or owned by another replayer.
    bool remove(ReplayerId who, const wire::Tuple& t);

    // Removes every registration of `who` (it disconnected). Returns how many.
    size_t drop_replayer(ReplayerId who);

    // The owner of `t`, or nullopt when nobody has it registered (or its registration expired,
    // which is then removed). A hit restarts the registration's idle timer.
    std::optional<ReplayerId> route(const wire::Tuple& t, SteadyTime now);

    // Removes every registration idle for `expiry` or longer. Returns how many.
    size_t expire(SteadyTime now);

    size_t size() const { return table_.size(); }
    size_t owned_by(ReplayerId who) const;
    std::chrono::nanoseconds expiry() const { return expiry_; }

    struct Counters {
        uint64_t added = 0;
        uint64_t refreshed = 0;
        uint64_t refused = 0;  // held by another replayer
        uint64_t removed = 0;  // by Unregister
        uint64_t expired = 0;
        uint64_t dropped_with_replayer = 0;
    };
    const Counters& counters() const { return counters_; }

  private:
    struct Entry {
        ReplayerId owner = 0;
        SteadyTime last_used;
    };
    bool expired(const Entry& e, SteadyTime now) const { return now - e.last_used >= expiry_; }
    void forget_one(ReplayerId who);

    std::chrono::nanoseconds expiry_;
    std::unordered_map<wire::Tuple, Entry, wire::TupleHash> table_;
    std::unordered_map<ReplayerId, size_t> owned_;  // registrations per replayer
    Counters counters_;
};

}  // namespace tcpr::icpt
