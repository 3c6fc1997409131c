// Ordinary, nonblocking TCP client connections for the socket transport (docs/replay.md,
// "Socket transport"). A TargetDialer connects to the ONE endpoint it was made for, so the
// "connect only to --target" rule lives in the type (as RawSocket's does for raw packets).
// Outcomes that are part of normal operation (would block, end of stream, a refused or reset
// connection) are values; nothing here throws after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/net/flow_key.h"
#include "common/os/unique_fd.h"

namespace tcpr::os {

enum class IoState : uint8_t {
    Done,        // bytes moved (send: some or all; receive: some)
    WouldBlock,  // nothing moved now: wait for readiness
    Eof,         // receive only: the peer closed its side (FIN)
    Error,       // `error` holds the errno (ECONNRESET, EPIPE, ETIMEDOUT, ...)
};

struct IoResult {
    IoState state = IoState::Done;
    size_t bytes = 0;
    int error = 0;
};

// One TCP connection (TCP_NODELAY, nonblocking, close-on-exec). Destruction closes it quietly
// (FIN, or RST if unread input remains, as close(2) does).
class StreamSocket {
  public:
    StreamSocket(StreamSocket&&) noexcept = default;
    StreamSocket& operator=(StreamSocket&&) noexcept = default;

    int fd() const { return fd_.get(); }
    // Once writable after an in-progress connect: 0 when connected, else the connect's errno
    // (ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT, ...).
    int connect_result() const;
    // Writes what the kernel takes now (MSG_NOSIGNAL: a closed peer is EPIPE, never SIGPIPE).
    IoResult send(std::span<const uint8_t> bytes);
    // Reads what there is now, at most out.size() bytes.
    IoResult receive(std::span<uint8_t> out);
    // Our FIN after what was sent; reading goes on.
    void shutdown_write();
    // Closes with a RST (SO_LINGER 0): the peer's connection is dropped at once and neither
    // side keeps TIME_WAIT. The socket is closed afterwards.
    void reset();
    // Closes normally (FIN). The socket is closed afterwards.
    void close();
    // The kernel's current retransmission timeout for this connection (TCP_INFO tcpi_rto;
    // at least 200 ms on Linux), 0 if unknown. The target's RTO toward us is of the same order:
    // a pause that short inside an answer may be a lost segment being recovered.
    uint64_t retransmit_timeout_ns() const;
    // The local endpoint the kernel chose (for messages and the diff file).
    net::Endpoint local_endpoint() const;

  private:
    friend class TargetDialer;
    explicit StreamSocket(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

class TargetDialer {
  public:
    explicit TargetDialer(const net::Endpoint& target) : target_(target) {}

    enum class Status : uint8_t {
        Connected,   // at once (possible on loopback)
        InProgress,  // wait until writable, then StreamSocket::connect_result()
        Failed,      // the target refused or is unreachable: `error`
        NoResource,  // no local port, descriptor or buffer now (EADDRNOTAVAIL, EMFILE,
                     // ENFILE, ENOBUFS, ENOMEM): try again later
    };
    struct Dial {
        Status status = Status::Failed;
        int error = 0;
        std::optional<StreamSocket> socket;  // set for Connected and InProgress
    };
    // Starts a connection to the target (and only there).
    Dial dial() const;
    const net::Endpoint& target() const { return target_; }

  private:
    net::Endpoint target_;
};

// Raises the soft limit of open descriptors to the hard limit (thousands of concurrent
// connections need more than the usual 1024). Returns the soft limit in force afterwards.
uint64_t raise_open_file_limit();

}  // namespace tcpr::os
