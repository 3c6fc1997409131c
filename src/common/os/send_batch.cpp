#include "common/os/send_batch.h"

#include <array>
#include <cerrno>
#include <sys/uio.h>

namespace tcpr::os {

void SendBatch::add(std::span<const uint8_t> prefix, std::span<const uint8_t> packet) {
    bytes_.insert(bytes_.end(), prefix.begin(), prefix.end());
    bytes_.insert(bytes_.end(), packet.begin(), packet.end());
    lengths_.push_back(static_cast<uint32_t>(prefix.size() + packet.size()));
}

net::SinkLosses SendBatch::send(int fd, const sockaddr* dst, socklen_t dst_len, int& last_errno) {
    net::SinkLosses lost;
    const size_t n = lengths_.size();
    std::array<iovec, kMax> iov{};
    std::array<mmsghdr, kMax> msgs{};
    size_t off = 0;
    for (size_t i = 0; i < n; ++i) {
        iov[i].iov_base = bytes_.data() + off;
        iov[i].iov_len = lengths_[i];
        off += lengths_[i];
        msghdr& h = msgs[i].msg_hdr;
        h.msg_name = const_cast<sockaddr*>(dst);
        h.msg_namelen = dst != nullptr ? dst_len : 0;
        h.msg_iov = &iov[i];
        h.msg_iovlen = 1;
    }
    size_t done = 0;
    int interrupted = 0;
    while (done < n) {
        const int r =
            ::sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(n - done), MSG_DONTWAIT);
        if (r > 0) {
            done += static_cast<size_t>(r);
            continue;
        }
        const int err = r < 0 ? errno : EIO;
        if (err == EINTR && ++interrupted < 3) {
            continue;
        }
        // This datagram cannot leave; the ones after it may (a RST after a full queue).
        last_errno = err;
        if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
            ++lost.would_block;
        } else {
            ++lost.failed;
        }
        lost.bytes += lengths_[done];
        ++done;
    }
    bytes_.clear();
    lengths_.clear();
    return lost;
}

}  // namespace tcpr::os
