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

// What a batching sink accepted (send() said Sent) but could not hand over at flush().
struct SinkLosses {
    uint64_t would_block = 0;  // the kernel queue was full: dropped (TCP retransmits)
    uint64_t failed = 0;       // another error
    uint64_t bytes = 0;        // their size

    SinkLosses& operator+=(const SinkLosses& o) {
        would_block += o.would_block;
        failed += o.failed;
        bytes += o.bytes;
        return *this;
    }
};

class PacketSink {
  public:
    virtual ~PacketSink() = default;
    // `ip_packet` is one complete IPv4 or IPv6 packet (no link header), checksums filled.
    // A batching sink copies it and may send it only at the next flush().
    virtual SendStatus send(std::span<const uint8_t> ip_packet) = 0;
    // Hands over what send() queued (one system call for many packets); the caller calls it
    // once per event-loop turn, before it sleeps.
    virtual SinkLosses flush() { return {}; }
};

}  // namespace tcpr::net
