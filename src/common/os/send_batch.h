// Packets queued for one sendmmsg call: the raw socket and the link-layer injector copy each
// packet here in send() and hand the whole batch to the kernel at flush() (one system call per
// event-loop turn instead of one per packet).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <sys/socket.h>
#include <vector>

#include "common/net/packet_sink.h"

namespace tcpr::os {

class SendBatch {
  public:
    static constexpr size_t kMax = 64;  // packets per sendmmsg call

    bool full() const { return lengths_.size() >= kMax; }
    bool empty() const { return lengths_.empty(); }
    // Appends `prefix` then `packet` as one datagram.
    void add(std::span<const uint8_t> prefix, std::span<const uint8_t> packet);
    // Sends everything queued on `fd` (to `dst`, or the socket's binding when null) and empties
    // the batch. A datagram the kernel refuses is counted and skipped; the rest still go.
    // `last_errno` gets the last error seen.
    net::SinkLosses send(int fd, const sockaddr* dst, socklen_t dst_len, int& last_errno);

  private:
    std::vector<uint8_t> bytes_;     // the queued datagrams, back to back
    std::vector<uint32_t> lengths_;  // their sizes
};

}  // namespace tcpr::os
