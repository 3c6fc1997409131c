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

    // Queues `prefix` then `packet` as one datagram for `fd` (to `dst`, or the socket's binding
    // when null); a full batch is sent first.
    void add(int fd, const sockaddr* dst, socklen_t dst_len, std::span<const uint8_t> prefix,
             std::span<const uint8_t> packet);
    // Sends what is queued and returns every datagram the kernel refused since the last
    // flush() (counted and skipped; the rest still went).
    net::SinkLosses flush(int fd, const sockaddr* dst, socklen_t dst_len);
    // The last errno of a refused datagram (0 if none).
    int last_errno() const { return last_errno_; }

  private:
    void send(int fd, const sockaddr* dst, socklen_t dst_len);

    std::vector<uint8_t> bytes_;     // the queued datagrams, back to back
    std::vector<uint32_t> lengths_;  // their sizes
    net::SinkLosses losses_;         // refused since the last flush()
    int last_errno_ = 0;
};

}  // namespace tcpr::os
