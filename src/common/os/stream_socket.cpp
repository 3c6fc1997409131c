#include "common/os/stream_socket.h"

#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/os/sockaddr.h"

namespace tcpr::os {
namespace {

bool no_resource(int err) {
    return err == EADDRNOTAVAIL || err == EMFILE || err == ENFILE || err == ENOBUFS ||
           err == ENOMEM || err == EAGAIN;
}

}  // namespace

// ---- StreamSocket ---------------------------------------------------------------------------

int StreamSocket::connect_result() const {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        return errno;
    }
    if (err != 0) {
        return err;
    }
    // SO_ERROR is 0 both when connected and, rarely, when woken before the outcome: ask.
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    if (getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &plen) != 0) {
        return errno == ENOTCONN ? EINPROGRESS : errno;
    }
    return 0;
}

IoResult StreamSocket::send(std::span<const uint8_t> bytes) {
    IoResult r;
    while (true) {
        const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n >= 0) {
            r.bytes = static_cast<size_t>(n);
            return r;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            r.state = IoState::WouldBlock;
        } else {
            r.state = IoState::Error;
            r.error = errno;
        }
        return r;
    }
}

IoResult StreamSocket::receive(std::span<uint8_t> out) {
    IoResult r;
    while (true) {
        const ssize_t n = ::recv(fd_.get(), out.data(), out.size(), 0);
        if (n > 0) {
            r.bytes = static_cast<size_t>(n);
            return r;
        }
        if (n == 0) {
            r.state = IoState::Eof;
            return r;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            r.state = IoState::WouldBlock;
        } else {
            r.state = IoState::Error;
            r.error = errno;
        }
        return r;
    }
}

void StreamSocket::shutdown_write() { (void)::shutdown(fd_.get(), SHUT_WR); }

void StreamSocket::reset() {
    if (!fd_) {
        return;
    }
    const linger l{1, 0};
    (void)setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    fd_ = UniqueFd::adopt(-1);
}

void StreamSocket::close() { fd_ = UniqueFd::adopt(-1); }

uint64_t StreamSocket::retransmit_timeout_ns() const {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (getsockopt(fd_.get(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
        return 0;
    }
    return uint64_t{info.tcpi_rto} * 1000u;
}

net::Endpoint StreamSocket::local_endpoint() const {
    return local_endpoint_of(fd_.get()).value_or(net::Endpoint{});
}

// ---- TargetDialer ---------------------------------------------------------------------------

TargetDialer::Dial TargetDialer::dial() const {
    Dial d;
    const int fd = ::socket(target_.addr.version == 6 ? AF_INET6 : AF_INET,
                            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        d.error = errno;
        d.status = no_resource(d.error) ? Status::NoResource : Status::Failed;
        return d;
    }
    StreamSocket s{UniqueFd::adopt(fd)};
    const int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(target_, ss);
    // A nonblocking connect interrupted by a signal goes on in the background (EINTR).
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len);
    if (rc == 0) {
        d.status = Status::Connected;
    } else if (errno == EINPROGRESS || errno == EINTR) {
        d.status = Status::InProgress;
    } else {
        d.error = errno;
        d.status = no_resource(d.error) ? Status::NoResource : Status::Failed;
        return d;  // the socket is closed here
    }
    d.socket.emplace(std::move(s));
    return d;
}

uint64_t raise_open_file_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return 1024;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rlimit want = rl;
        want.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) {
            rl = want;
        }
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(rl.rlim_cur);
}

}  // namespace tcpr::os
