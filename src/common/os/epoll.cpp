#include "common/os/epoll.h"

#include <cerrno>
#include <sys/epoll.h>

#include "common/base/error.h"

namespace tcpr::os {
namespace {
uint32_t to_epoll(uint32_t interest) {
    uint32_t e = 0;
    if ((interest & Epoll::kReadable) != 0) {
        e |= EPOLLIN | EPOLLRDHUP;
    }
    if ((interest & Epoll::kWritable) != 0) {
        e |= EPOLLOUT;
    }
    return e;
}
}  // namespace

Epoll Epoll::create() {
    const int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) {
        throw_errno("cannot create epoll instance", errno);
    }
    return Epoll(UniqueFd::adopt(fd));
}

void Epoll::add(int fd, uint32_t interest, uint64_t tag) {
    epoll_event ev{};
    ev.events = to_epoll(interest);
    ev.data.u64 = tag;
    if (epoll_ctl(fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        throw_errno("cannot watch fd " + std::to_string(fd), errno, ErrorKind::Internal);
    }
}

void Epoll::modify(int fd, uint32_t interest, uint64_t tag) {
    epoll_event ev{};
    ev.events = to_epoll(interest);
    ev.data.u64 = tag;
    if (epoll_ctl(fd_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
        throw_errno("cannot change watch of fd " + std::to_string(fd), errno, ErrorKind::Internal);
    }
}

void Epoll::remove(int fd) noexcept {
    epoll_event ev{};
    (void)epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, &ev);
}

void Epoll::wait(std::vector<Event>& out, int timeout_ms, size_t max_events) {
    wait_ns(out, timeout_ms < 0 ? UINT64_MAX : static_cast<uint64_t>(timeout_ms) * 1'000'000ull,
            max_events);
}

void Epoll::wait_ns(std::vector<Event>& out, uint64_t timeout_ns, size_t max_events) {
    out.clear();
    epoll_event evs[256];
    const int cap = static_cast<int>(max_events < 256 ? max_events : 256);
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000ull);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000ull);
    const int n =
        epoll_pwait2(fd_.get(), evs, cap, timeout_ns == UINT64_MAX ? nullptr : &ts, nullptr);
    if (n < 0) {
        if (errno == EINTR) {
            return;
        }
        throw_errno("epoll_pwait2 failed", errno);
    }
    for (int i = 0; i < n; ++i) {
        Event e;
        e.tag = evs[i].data.u64;
        e.readable = (evs[i].events & (EPOLLIN | EPOLLRDHUP)) != 0;
        e.writable = (evs[i].events & EPOLLOUT) != 0;
        e.hangup = (evs[i].events & (EPOLLHUP | EPOLLERR)) != 0;
        out.push_back(e);
    }
}

}  // namespace tcpr::os
