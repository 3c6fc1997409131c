#include "common/os/send_batch.h"

#include <array>
#include <cerrno>
#include <sys/uio.h>
#include <utility>

namespace tcpr::os {

void SendBatch::add(int fd, const sockaddr* dst, socklen_t dst_len, std::span<const uint8_t> prefix,
                    std::span<const uint8_t> packet) {
    if (lengths_.size() >= kMax) {
        send(fd, dst, dst_len);
    }
    bytes_.insert(bytes_.end(), prefix.begin(), prefix.end());
    bytes_.insert(bytes_.end(), packet.begin(), packet.end());
    lengths_.push_back(static_cast<uint32_t>(prefix.size() + packet.size()));
}

net::SinkLosses SendBatch::flush(int fd, const sockaddr* dst, socklen_t dst_len) {
    if (!lengths_.empty()) {
        send(fd, dst, dst_len);
    }
    return std::exchange(losses_, {});
}

void SendBatch::send(int fd, const sockaddr* dst, socklen_t dst_len) {
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
        last_errno_ = err;
        if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
            ++losses_.would_block;
        } else {
            ++losses_.failed;
        }
        losses_.bytes += lengths_[done];
        ++done;
    }
    bytes_.clear();
    lengths_.clear();
}

}  // namespace tcpr::os
