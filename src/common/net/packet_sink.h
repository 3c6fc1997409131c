// Where built packets go: a raw socket, a link-layer injector, or an in-memory test double.
// The seam through which unit tests observe injection without root.
#pragma once

#include <cstdint>
#include <span>

namespace tcpr::net {

enum class SendStatus : uint8_t {
    Sent,        // handed to the network
    WouldBlock,  // the kernel queue is full: the packet is dropped (TCP retransmits)
    Refused,     // not addressed to the permitted target: never sent
    Failed,      // another error (counted; the caller decides whether it is fatal)
};

class PacketSink {
  public:
    virtual ~PacketSink() = default;
    // `ip_packet` is one complete IPv4 or IPv6 packet (no link header), checksums filled.
    virtual SendStatus send(std::span<const uint8_t> ip_packet) = 0;
};

}  // namespace tcpr::net
