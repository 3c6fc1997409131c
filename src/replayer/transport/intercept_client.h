// The replayer's connection to intercept (docs/intercept-protocol.md): Hello/HelloAck at
// connect, Register/Unregister of the client tuples it replays, Ping (keep-alive, and the echo
// that confirms earlier registrations are in force), Reports in. Nonblocking once connected;
// a lost connection is reconnected with exponential backoff (each attempt blocks the caller
// at most reconnect_timeout).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/net/flow_key.h"
#include "common/os/tcp_socket.h"
#include "common/wire/intercept_protocol.h"

namespace tcpr::replay {

struct InterceptOptions {
    net::Endpoint address;
    std::string name = "tcpreplay2";
    uint32_t features = 0;  // wire::kFeature* to ask for (kFeaturePayload: to compare bodies)
    // The shared key (--auth-key), for intercept's Challenge; empty: none. kFeatureAuth and
    // kFeatureRefusals are always asked for.
    std::vector<uint8_t> auth_key;
    std::chrono::milliseconds connect_timeout{3000};   // at start
    std::chrono::milliseconds reconnect_timeout{200};  // each later attempt
    uint64_t backoff_min_ns = 100'000'000;
    uint64_t backoff_max_ns = 5'000'000'000;
};

class InterceptClient {
  public:
    explicit InterceptClient(InterceptOptions options);

    // Connects and completes the Hello exchange (and the Challenge/Auth one when intercept asks
    // for the key). Throws Error(Network) with one clear line:
    // "cannot reach intercept at 10.0.0.3:36524: Connection refused (is intercept running?)",
    // "intercept at A requires a key: ...", "intercept at A refused this replayer: ...".
    void connect();

    bool connected() const { return conn_.has_value(); }
    int fd() const { return conn_ ? conn_->fd() : -1; }
    bool wants_write() const { return conn_ && conn_->wants_write(); }
    uint32_t expiry_seconds() const { return expiry_seconds_; }
    // Of the features asked for, those intercept granted (all of them: intercept knows every
    // feature of its protocol version).
    uint32_t features() const { return features_; }
    const std::string& last_error() const { return last_error_; }

    // Queue messages; false when disconnected or the output queue is full (nothing queued).
    bool register_tuples(std::span<const wire::Tuple> tuples);
    bool unregister_tuples(std::span<const wire::Tuple> tuples);
    // Queues a Ping; returns its nonce (echoed after every report queued before it).
    std::optional<uint64_t> ping();

    // Reads what arrived (call when the fd is readable or hung up) and appends whole messages
    // to `out`. Returns false when the connection was lost (see last_error()).
    bool read(std::vector<wire::Message>& out, uint64_t now_ns);
    // Writes queued output; false when the connection was lost.
    bool write(uint64_t now_ns);

    // Drops the connection (after an error) and schedules a reconnect.
    void disconnect(const std::string& why, uint64_t now_ns);
    // When disconnected: attempts a reconnect if its time has come. True if connected now.
    bool maybe_reconnect(uint64_t now_ns);
    // The next reconnect attempt (0 when connected).
    uint64_t next_attempt_ns() const { return conn_ ? 0 : next_attempt_; }

    uint64_t disconnects() const { return disconnects_; }
    uint64_t reconnects() const { return reconnects_; }

  private:
    struct Refused {  // intercept answered Hello with an Error
        std::string reason;
    };
    struct NoKey {};  // intercept sent a Challenge; we have no key
    void hello(std::chrono::milliseconds timeout);
    bool warned_no_auth_ = false;

    InterceptOptions opt_;
    std::optional<os::TcpConnection> conn_;
    uint32_t expiry_seconds_ = 120;
    uint32_t features_ = 0;
    uint64_t nonce_ = 1;
    uint64_t backoff_ = 0;
    uint64_t next_attempt_ = 0;
    uint64_t disconnects_ = 0, reconnects_ = 0;
    std::string last_error_;
};

}  // namespace tcpr::replay
