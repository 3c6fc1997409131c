// Groups TCP packets into sessions (one per connection, with a new generation when a 4-tuple
// is reused) and accumulates what the archive index stores about each. Pure logic, no OS.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/net/flow_key.h"
#include "common/net/packet_view.h"

namespace tcpr::session {

namespace session_flags {
constexpr uint8_t kSynSeen = 0x01;           // the client's SYN is in the capture
constexpr uint8_t kSynAckSeen = 0x02;        // the server's SYN-ACK is in the capture
constexpr uint8_t kFinSeen = 0x04;           // a FIN from either side
constexpr uint8_t kRstSeen = 0x08;           // a RST from either side
constexpr uint8_t kClientFromSyn = 0x10;     // client side decided by the SYN (else by port)
constexpr uint8_t kPayloadTruncated = 0x20;  // some payload was cut by the snaplen
}  // namespace session_flags

// What the index stores per session. Client = the SYN sender; without a SYN, the side not
// using the server port (the recorded port if known, else the lower port).
struct SessionSummary {
    net::Endpoint client, server;
    uint64_t first_ns = 0, last_ns = 0;
    uint64_t packets_c2s = 0, packets_s2c = 0;
    uint64_t bytes_c2s = 0, bytes_s2c = 0;  // TCP payload bytes per the IP headers
    uint8_t flags = 0;                      // session_flags::*
    std::vector<uint32_t> frames;           // data-frame numbers holding its packets, ascending

    bool has(uint8_t f) const { return (flags & f) == f; }
};

class SessionTracker {
  public:
    // server_port: the recorded service port (-p), used to orient sessions without a SYN.
    explicit SessionTracker(std::optional<uint16_t> server_port = std::nullopt)
        : server_port_(server_port) {}

    // Accounts one decoded packet captured at ts_ns and stored in data frame `frame`.
    // Returns the index of the session in sessions().
    size_t observe(const net::PacketView& p, uint64_t ts_ns, uint32_t frame);

    // All sessions in order of their first packet. Stable indices.
    const std::vector<SessionSummary>& sessions() const { return sessions_; }
    size_t size() const { return sessions_.size(); }
    // Sessions with no FIN/RST seen and a packet within the last `idle_ns` before `now_ns`.
    size_t active(uint64_t now_ns, uint64_t idle_ns) const;

  private:
    size_t start_session(const net::PacketView& p, const net::FlowKey& key, uint64_t ts_ns);

    std::optional<uint16_t> server_port_;
    std::vector<SessionSummary> sessions_;
    struct OpenFlow {
        size_t index;         // into sessions_
        uint32_t client_isn;  // sequence number of the client's SYN (from a SYN or SYN-ACK)
        bool isn_known;       // false for a session captured mid-stream
    };
    std::unordered_map<net::FlowKey, OpenFlow, net::FlowKeyHash> open_;  // key -> newest session
};

}  // namespace tcpr::session
