#include "common/os/raw_socket.h"

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/base/error.h"
#include "common/net/packet_builder.h"
#include "common/os/sockaddr.h"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36  // Linux >= 4.5
#endif

namespace tcpr::os {

bool TargetGuard::permits(std::span<const uint8_t> ip_packet) const {
    net::Endpoint dst;
    if (!net::tcp_destination(ip_packet, dst)) {
        return false;
    }
    const size_t header = permitted_.addr.version == 6 ? 40 : 20;
    return dst == permitted_ && ip_packet.size() >= header + 20;
}

RawSocket::RawSocket(UniqueFd fd, const net::Endpoint& permitted)
    : fd_(std::move(fd)), guard_(permitted) {
    // Port 0: raw IPv6 sockets read the port field as the protocol, and 0 means the socket's own;
    // raw IPv4 sockets ignore it.
    dst_len_ = to_sockaddr(net::Endpoint{permitted.addr, 0}, dst_);
}

RawSocket RawSocket::open(const net::Endpoint& permitted, int send_buffer_bytes) {
    const int family = permitted.addr.version == 6 ? AF_INET6 : AF_INET;
    const int fd = ::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0) {
        const int err = errno;
        if (err == EPERM || err == EACCES) {
            throw Error(ErrorKind::Permission, std::string("cannot open a raw socket: ") +
                                                   std::strerror(err) +
                                                   " (tcpreplay2 needs root or CAP_NET_RAW)");
        }
        throw_errno("cannot open a raw socket", err);
    }
    UniqueFd owned = UniqueFd::adopt(fd);
    const int one = 1;
    if (family == AF_INET) {
        if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one) != 0) {
            throw_errno("cannot set IP_HDRINCL on the raw socket", errno);
        }
    } else {
        // IPPROTO_RAW implies it on Linux; set it explicitly where the option exists.
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof one);
    }
    if (send_buffer_bytes > 0) {
        // Best effort: SO_SNDBUF is capped by net.core.wmem_max; SO_SNDBUFFORCE needs
        // CAP_NET_ADMIN, which a root replayer has.
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &send_buffer_bytes,
                       sizeof send_buffer_bytes) != 0) {
            (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_buffer_bytes,
                             sizeof send_buffer_bytes);
        }
    }
    return RawSocket(std::move(owned), permitted);
}

net::SendStatus RawSocket::send(std::span<const uint8_t> ip_packet) {
    if (!guard_.permits(ip_packet)) {
        ++refused_;
        return net::SendStatus::Refused;
    }
    batch_.add(fd_.get(), reinterpret_cast<const sockaddr*>(&dst_), dst_len_, {}, ip_packet);
    return net::SendStatus::Sent;
}

net::SinkLosses RawSocket::flush() {
    return batch_.flush(fd_.get(), reinterpret_cast<const sockaddr*>(&dst_), dst_len_);
}

}  // namespace tcpr::os
