// Turns a capture file's packets into a Recording (recording.h): groups TCP segments into
// connections, orients each (client = SYN sender, else the side not on the server port), selects
// them (--port, --sessions, --sample), assembles each with a Conversation (conversation.h: the
// client stream, its requests and what the server answered to each, the same assembler live
// passthrough uses) and, once a connection is complete, adds it to the Recording. Pure logic:
// the caller feeds decoded packets in file order.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/net/address_parse.h"
#include "common/net/ip_address.h"
#include "common/net/packet_view.h"
#include "replayer/sessions/conversation.h"
#include "replayer/sessions/endpoint_name.h"
#include "replayer/sessions/recording.h"

namespace tcpr::replay {

// A client network for --sessions and --client-pool ("10.1.0.0/16", "fd00::/8").
using Cidr = net::Cidr;

// Which recorded connections become sessions (--port, --sessions, --sample).
struct Selection {
    std::optional<uint16_t> server_port;  // only connections to this port
    uint64_t from_ns = 0;                 // session start offset from the capture's start
    std::optional<uint64_t> to_ns;        // exclusive upper bound of that offset
    std::vector<Cidr> client_nets;        // client address in any of them (empty = all)
    double sample_percent = 100.0;        // per session, deterministic (hash of the tuple)
    uint64_t sample_seed = 0;
    uint32_t shard = 0, shards = 1;  // --shard I/N: only shard_of(client) == shard
};

// The shard (0 .. shards-1) of a recorded client endpoint: a hash of its address and port that
// is the same on every host and build (shards of one recording on different hosts agree), so
// every connection of a recorded client tuple, and all copies of its sessions, go to one shard.
uint32_t shard_of(const net::Endpoint& client, uint32_t shards);

struct BuilderOptions {
    RequestPolicy policy;
    EndpointRules endpoints;  // how requests are named (--endpoint-bytes)
    Selection selection;
    // Orients connections without a captured SYN when no --port is given (e.g. from an
    // archive's index: its most common server port). Without either, the lower port.
    std::optional<uint16_t> default_server_port;
    // A connection closed (FIN/RST) and quiet this long in capture time, or idle for
    // idle_ns, is complete: its memory is released early on long captures.
    // Digest every recorded answer's body (the comparison: RecordedRequest::body_digest).
    bool digest_answers = true;
    const CompiledNoiseRules* noise = nullptr;  // what is noise (nullptr: the defaults)
    uint64_t closed_linger_ns = 10'000'000'000ull;
    uint64_t idle_ns = 600'000'000'000ull;
};

class SessionBuilder {
  public:
    explicit SessionBuilder(BuilderOptions options = {});
    ~SessionBuilder();
    SessionBuilder(const SessionBuilder&) = delete;
    SessionBuilder& operator=(const SessionBuilder&) = delete;

    // One captured frame of link type `link_type` (LINKTYPE_* value), captured at ts_ns.
    void add_frame(uint32_t link_type, uint64_t ts_ns, std::span<const uint8_t> frame);
    // One decoded segment; `frame` holds the bytes `view` indexes into.
    void add_packet(const net::PacketView& view, std::span<const uint8_t> frame, uint64_t ts_ns);

    // Completes every open connection and returns the recording (sessions ordered by start).
    Recording finish();

    const BuildStats& stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tcpr::replay
