// Sending forged client packets toward the one permitted target. The "inject only into
// --target" rule lives in the types: every sender checks each packet with a TargetGuard and
// refuses (never sends) a packet whose destination address or TCP port is another.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <sys/socket.h>

#include "common/net/flow_key.h"
#include "common/net/packet_sink.h"
#include "common/os/send_batch.h"
#include "common/os/unique_fd.h"

namespace tcpr::os {

// Pure check, testable without root.
class TargetGuard {
  public:
    explicit TargetGuard(const net::Endpoint& permitted) : permitted_(permitted) {}
    // True only for a complete IPv4/IPv6 TCP packet to exactly the permitted address and port.
    bool permits(std::span<const uint8_t> ip_packet) const;
    const net::Endpoint& permitted() const { return permitted_; }

  private:
    net::Endpoint permitted_;
};

// An IPPROTO_RAW socket (IP_HDRINCL: we write the IP header) of the target's family,
// nonblocking. Needs root or CAP_NET_RAW. Packets are queued by send() and leave together at
// flush() (sendmmsg: one system call per batch), or at once when SendBatch::kMax are queued.
class RawSocket final : public net::PacketSink {
  public:
    // Throws Error(Permission) "cannot open a raw socket: Operation not permitted (needs root
    // or CAP_NET_RAW)", Error(Io) otherwise.
    static RawSocket open(const net::Endpoint& permitted, int send_buffer_bytes = 4 << 20);

    RawSocket(RawSocket&&) noexcept = default;
    net::SendStatus send(std::span<const uint8_t> ip_packet) override;
    net::SinkLosses flush() override;

    uint64_t refused() const { return refused_; }
    // The last errno of a failed send (0 if none), for one diagnostic line.
    int last_error() const { return batch_.last_errno(); }

  private:
    RawSocket(UniqueFd fd, const net::Endpoint& permitted);
    UniqueFd fd_;
    TargetGuard guard_;
    sockaddr_storage dst_{};
    socklen_t dst_len_ = 0;
    uint64_t refused_ = 0;
    SendBatch batch_;
};

}  // namespace tcpr::os
