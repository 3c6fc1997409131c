// Where a SessionDriver reads a session that is still growing while it is replayed (live
// passthrough, live_sessions.h). Archive replay has no feed: its Recording is complete and
// immutable. With a feed (DriverEnv::feed), the driver reads the session's fields from
// Recording::sessions as usual (request_count and close move on as the live client speaks),
// but its requests, client bytes and recorded status lines through this interface:
//  - request i appears once the live client began it; its length grows while the live client
//    sends it; its answer length grows while the live server answers and is final once request
//    i+1 exists or the session is no longer open (RecordedSession::open);
//  - a status line may not be known yet when the target's answer arrives (the target was
//    faster than the online server): the comparison is then left to the feed.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/net/flow_key.h"
#include "replayer/sessions/recording.h"

namespace tcpr::replay {

// What the live copies of one session have in common (RawTransport::wake,
// SocketTransport::wake).
struct CopyProgress {
    uint32_t copies = 0;       // copies not ended (started or waiting for their SYN)
    uint32_t min_request = 0;  // requests every copy is done with
    uint32_t min_acked = 0;    // client stream offset every copy's target acknowledged
};

class SessionFeed {
  public:
    virtual ~SessionFeed() = default;

    // Request `index` (< RecordedSession::request_count) of session `session`.
    virtual RecordedRequest request(uint32_t session, uint32_t index) const = 0;
    // request(session, index).response_len alone: asked on every reported answer segment.
    virtual uint32_t response_len(uint32_t session, uint32_t index) const {
        return request(session, index).response_len;
    }
    // request(session, index).begin + .length alone: asked whenever a copy's request may grow.
    virtual uint32_t request_end(uint32_t session, uint32_t index) const {
        const RecordedRequest r = request(session, index);
        return r.begin + r.length;
    }
    // Client stream bytes [offset, offset + length) of the session; every byte of a published
    // request that the target has not acknowledged is still available.
    virtual std::span<const uint8_t> bytes(uint32_t session, uint32_t offset,
                                           uint32_t length) const = 0;
    // The live server's first line of the answer to request `index`: empty when it was not
    // captured (or there is none), nullopt while the live answer has not begun yet.
    virtual std::optional<std::string_view> status_line(uint32_t session, uint32_t index) const = 0;
    // The first bytes of that answer as captured (<= 64; the difference examples, --diff);
    // empty while unknown.
    virtual std::string_view response_head(uint32_t session, uint32_t index) const = 0;
    // The target's first line `got` for request `index`, to compare once the live answer's
    // first line is known (status_line() returned nullopt). `cut`: the reported head ended
    // inside the line, so only its first got.size() bytes compare.
    virtual void compare_later(uint32_t session, uint32_t index, const net::Endpoint& client,
                               std::string got, bool cut) = 0;
    // A copy of `session` ended (its transport retired it) after `requests_done` requests.
    virtual void copy_ended(uint32_t session, uint32_t requests_done) = 0;
};

}  // namespace tcpr::replay
