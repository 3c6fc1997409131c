// Owner of an epoll instance: level-triggered interest in fds, each tagged with a caller value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/os/unique_fd.h"

namespace tcpr::os {

class Epoll {
  public:
    static constexpr uint32_t kReadable = 1;
    static constexpr uint32_t kWritable = 2;

    struct Event {
        uint64_t tag = 0;
        bool readable = false;
        bool writable = false;
        bool hangup = false;  // EPOLLHUP / EPOLLERR: read or write to learn why
    };

    // Throws Error(Io) when the kernel refuses (EMFILE, ENOMEM).
    static Epoll create();

    // `interest` is kReadable | kWritable. Throws on failure (a programming error such as a
    // closed fd, or out of memory).
    void add(int fd, uint32_t interest, uint64_t tag);
    void modify(int fd, uint32_t interest, uint64_t tag);
    void remove(int fd) noexcept;  // quietly: the fd may be closing anyway

    // Waits at most timeout_ms (-1 = forever, 0 = poll) and fills `out` (cleared first).
    // A signal (EINTR) returns with no events, so callers can check their stop flag.
    void wait(std::vector<Event>& out, int timeout_ms, size_t max_events = 64);
    // The same with a nanosecond timeout (epoll_pwait2; UINT64_MAX = forever). A run loop sleeps
    // to its next deadline this way: the kernel programs a timer only when it really sleeps,
    // where a timerfd re-armed at every turn costs a system call (and, in a virtual machine,
    // a timer reprogramming) each time.
    void wait_ns(std::vector<Event>& out, uint64_t timeout_ns, size_t max_events = 64);

    int fd() const { return fd_.get(); }

  private:
    explicit Epoll(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

}  // namespace tcpr::os
