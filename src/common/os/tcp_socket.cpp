#include "common/os/tcp_socket.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/base/error.h"
#include "common/net/address_parse.h"
#include "common/os/sockaddr.h"

namespace tcpr::os {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A peer or local address with IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) given as IPv4.
net::Endpoint unmapped(net::Endpoint e) {
    e.addr = net::unmap_v4(e.addr);
    return e;
}

UniqueFd make_socket(const net::Endpoint& e, const std::string& what) {
    const int fd = ::socket(e.addr.version == 6 ? AF_INET6 : AF_INET,
                            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw_errno(what, errno, ErrorKind::Network);
    }
    return UniqueFd::adopt(fd);
}

void set_nodelay(int fd) {
    const int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

// ---- TcpConnection ----

TcpConnection TcpConnection::connect(const net::Endpoint& to, std::chrono::milliseconds timeout) {
    const std::string what = "cannot connect to " + to.to_string();
    UniqueFd fd = make_socket(to, what);
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(to, ss);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
        if (errno != EINPROGRESS) {
            throw_errno(what, errno, ErrorKind::Network);
        }
        TcpConnection c(std::move(fd), to);
        if (!c.wait_for(POLLOUT, SteadyClock::now() + timeout)) {
            throw Error(ErrorKind::Network,
                        what + ": timed out after " + std::to_string(timeout.count()) + " ms");
        }
        int err = 0;
        socklen_t elen = sizeof err;
        if (getsockopt(c.fd(), SOL_SOCKET, SO_ERROR, &err, &elen) != 0) {
            err = errno;
        }
        if (err != 0) {
            throw_errno(what, err, ErrorKind::Network);
        }
        set_nodelay(c.fd());
        return c;
    }
    set_nodelay(fd.get());
    return TcpConnection(std::move(fd), to);
}

TcpConnection TcpConnection::adopt(UniqueFd fd, const net::Endpoint& peer) {
    return TcpConnection(std::move(fd), peer);
}

net::Endpoint TcpConnection::local_endpoint() const {
    const std::optional<net::Endpoint> e = local_endpoint_of(fd_.get());
    return e ? unmapped(*e) : net::Endpoint{};
}

IoStatus TcpConnection::fail(const std::string& why) {
    if (error_.empty()) {
        error_ = why;
    }
    return IoStatus::Closed;
}

bool TcpConnection::send(const wire::Message& m) {
    const size_t before = out_.size();
    const bool was_empty = queued_bytes() == 0;
    wire::encode(m, out_);
    if (!was_empty && queued_bytes() > max_queued_) {
        out_.resize(before);
        return false;
    }
    return true;
}

bool TcpConnection::queue(std::span<const uint8_t> frames) {
    if (queued_bytes() != 0 && queued_bytes() + frames.size() > max_queued_) {
        return false;
    }
    out_.insert(out_.end(), frames.begin(), frames.end());
    return true;
}

IoStatus TcpConnection::flush() {
    while (out_start_ < out_.size()) {
        const ssize_t n =
            ::send(fd_.get(), out_.data() + out_start_, out_.size() - out_start_, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                // Keep the buffer from creeping: drop the sent prefix once it dominates.
                if (out_start_ > (64u << 10) && out_start_ > out_.size() / 2) {
                    out_.erase(out_.begin(), out_.begin() + static_cast<long>(out_start_));
                    out_start_ = 0;
                }
                return IoStatus::WouldBlock;
            }
            return fail(std::strerror(errno));
        }
        out_start_ += static_cast<size_t>(n);
    }
    out_.clear();
    out_start_ = 0;
    return IoStatus::Ok;
}

void TcpConnection::shutdown_write() { (void)::shutdown(fd_.get(), SHUT_WR); }

IoStatus TcpConnection::receive(size_t max_bytes) {
    size_t total = 0;
    while (total < max_bytes) {
        auto space = in_.writable(16384);
        const ssize_t n = ::recv(fd_.get(), space.data(), space.size(), 0);
        if (n > 0) {
            in_.commit(static_cast<size_t>(n));
            total += static_cast<size_t>(n);
            continue;
        }
        if (n == 0) {
            return fail("connection closed by peer");
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        }
        return fail(std::strerror(errno));
    }
    return IoStatus::Ok;
}

void TcpConnection::wake_on_whole_frame(size_t cap) {
    const size_t want = std::clamp<size_t>(in_.missing(), 1, std::max<size_t>(cap, 1));
    if (want == rcvlowat_) {
        return;
    }
    const int v = static_cast<int>(want);
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v) == 0) {
        rcvlowat_ = want;
    }
}

IoStatus TcpConnection::discard_input(size_t max_bytes) {
    uint8_t buf[16384];
    size_t total = 0;
    while (total < max_bytes) {
        const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
        if (n > 0) {
            total += static_cast<size_t>(n);
            continue;
        }
        if (n == 0) {
            return fail("connection closed by peer");
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        }
        return fail(std::strerror(errno));
    }
    return IoStatus::Ok;
}

bool TcpConnection::wait_for(short events, SteadyClock::time_point deadline) {
    while (true) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
        if (left.count() < 0) {
            return false;
        }
        pollfd p{fd_.get(), events, 0};
        // Round up so a sub-millisecond remainder still waits instead of spinning.
        const int rc = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
        if (rc > 0) {
            return true;
        }
        if (rc < 0 && errno != EINTR) {
            return true;  // let the following call report the error
        }
        if (rc == 0 && SteadyClock::now() >= deadline) {
            return false;
        }
    }
}

void TcpConnection::send_blocking(const wire::Message& m, std::chrono::milliseconds timeout) {
    const std::string what = "cannot send to " + peer_.to_string();
    if (!send(m)) {
        throw Error(ErrorKind::Network, what + ": output queue full");
    }
    const auto deadline = SteadyClock::now() + timeout;
    while (true) {
        const IoStatus st = flush();
        if (st == IoStatus::Ok) {
            return;
        }
        if (st == IoStatus::Closed) {
            throw Error(ErrorKind::Network, what + ": " + error_);
        }
        if (!wait_for(POLLOUT, deadline)) {
            throw Error(ErrorKind::Network,
                        what + ": timed out after " + std::to_string(timeout.count()) + " ms");
        }
    }
}

std::optional<wire::Message> TcpConnection::receive_blocking(std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (true) {
        wire::DecodeResult r = next_message();
        if (r.status == wire::DecodeStatus::Ok) {
            return std::move(r.message);
        }
        if (r.status != wire::DecodeStatus::NeedMore) {
            throw Error(ErrorKind::Network,
                        "bad message from " + peer_.to_string() + ": " + wire::to_string(r.status));
        }
        if (!error_.empty()) {
            throw Error(ErrorKind::Network,
                        "connection to " + peer_.to_string() + " lost: " + error_);
        }
        if (!wait_for(POLLIN, deadline)) {
            return std::nullopt;
        }
        (void)receive();  // a close is reported once the frames read before it are taken
    }
}

// ---- TcpListener ----

TcpListener TcpListener::listen(const net::Endpoint& at, int backlog) {
    const std::string what = "cannot listen on " + at.to_string();
    UniqueFd fd = make_socket(at, what);
    const int one = 1;
    (void)setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (at.addr.version == 6) {
        (void)setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(at, ss);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
        throw_errno(what, errno, ErrorKind::Network);
    }
    if (::listen(fd.get(), backlog) != 0) {
        throw_errno(what, errno, ErrorKind::Network);
    }
    const std::optional<net::Endpoint> bound = local_endpoint_of(fd.get());
    if (!bound) {
        throw_errno(what, errno, ErrorKind::Network);
    }
    return TcpListener(std::move(fd), unmapped(*bound));
}

TcpListener::Accepted TcpListener::accept() {
    Accepted a;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = -1;
    do {
        fd = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        // EAGAIN: nobody waiting. ECONNABORTED: the client gave up before we accepted.
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) {
            a.error = errno;
        }
        return a;
    }
    UniqueFd owned = UniqueFd::adopt(fd);
    set_nodelay(fd);
    a.connection.emplace(TcpConnection::adopt(std::move(owned), unmapped(from_sockaddr(ss))));
    return a;
}

}  // namespace tcpr::os
