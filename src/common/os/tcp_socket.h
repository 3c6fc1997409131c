// Nonblocking TCP sockets that carry wire-protocol frames (intercept <-> replayer).
// TcpListener accepts; TcpConnection buffers frames both ways with a bound on queued output
// (backpressure: a full queue refuses new frames, the caller drops and counts them, nothing
// ever blocks). Blocking-with-timeout helpers make a simple client easy.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/net/flow_key.h"
#include "common/os/unique_fd.h"
#include "common/wire/intercept_protocol.h"

namespace tcpr::os {

enum class IoStatus {
    Ok,          // flush: everything written; receive: read what there was, still open
    WouldBlock,  // flush: the socket is full, bytes remain queued (wait for writable)
    Closed,      // the peer closed or the connection failed: error() says why
};

class TcpConnection {
  public:
    static constexpr size_t kDefaultMaxQueuedBytes = 4u << 20;

    // Connects within `timeout`; the socket is nonblocking afterwards (TCP_NODELAY set).
    // Throws Error(Network): "cannot connect to 10.0.0.9:36524: Connection refused",
    // "...: timed out after 3000 ms".
    static TcpConnection connect(const net::Endpoint& to, std::chrono::milliseconds timeout);
    // Wraps an accepted, already nonblocking socket.
    static TcpConnection adopt(UniqueFd fd, const net::Endpoint& peer);

    TcpConnection(TcpConnection&&) noexcept = default;
    TcpConnection& operator=(TcpConnection&&) noexcept = default;

    int fd() const { return fd_.get(); }
    const net::Endpoint& peer() const { return peer_; }
    net::Endpoint local_endpoint() const;
    const std::string& error() const { return error_; }

    // ---- output ----
    // Queued output beyond this is refused by send()/queue(), except that a frame is always
    // accepted into an empty queue (so a frame larger than the bound still goes out, and the
    // queue never holds more than the bound plus one frame). Default 4 MiB.
    void set_max_queued_bytes(size_t n) { max_queued_ = n; }
    size_t max_queued_bytes() const { return max_queued_; }
    size_t queued_bytes() const { return out_.size() - out_start_; }
    bool wants_write() const { return queued_bytes() > 0; }
    // Encodes and queues one frame; false (nothing queued) when the queue is full.
    bool send(const wire::Message& m);
    // Queues already encoded frames; false (nothing queued) when the queue is full.
    bool queue(std::span<const uint8_t> frames);
    // Writes as much queued output as the socket takes now.
    IoStatus flush();
    // Sends FIN after the queued output (call once flush() returned Ok): the peer reads what
    // was sent, then end of stream. Used before closing on an error, so that unread input
    // does not turn the close into a reset that discards the final Error message.
    void shutdown_write();

    // ---- input ----
    // Reads what the socket holds now (at most `max_bytes`) into the frame buffer. Closed on
    // end of stream or error; frames read before it can still be taken with next_message().
    IoStatus receive(size_t max_bytes = 256u << 10);
    // Reads and throws away what the socket holds now (a connection being closed).
    IoStatus discard_input(size_t max_bytes = 256u << 10);
    // The next whole frame read so far (NeedMore when none). Any other status than Ok/NeedMore
    // is sticky: close the connection.
    wire::DecodeResult next_message() { return in_.next(); }
    // After taking the whole frames: the socket polls readable only once the frame being read
    // can be whole (SO_RCVLOWAT = the bytes it still lacks, at most `cap`; 1 between frames),
    // so a large frame arriving in many segments wakes its reader once, not once per segment.
    // End of stream and errors still wake it at once.
    void wake_on_whole_frame(size_t cap = 256u << 10);

    // ---- blocking helpers (for a client with nothing else to do meanwhile) ----
    // Queues `m` and writes until all queued output is sent. Throws Error(Network) when the
    // connection closes, the queue is full, or `timeout` passes.
    void send_blocking(const wire::Message& m, std::chrono::milliseconds timeout);
    // Waits up to `timeout` for one message: nullopt on timeout. Messages that arrived before
    // a close (such as an Error message) are returned first; then it throws Error(Network)
    // "connection to X lost: ...". Bytes that do not decode throw too.
    std::optional<wire::Message> receive_blocking(std::chrono::milliseconds timeout);

  private:
    TcpConnection(UniqueFd fd, const net::Endpoint& peer) : fd_(std::move(fd)), peer_(peer) {}
    IoStatus fail(const std::string& why);
    // poll() for `events` up to `deadline`; false on timeout.
    bool wait_for(short events, std::chrono::steady_clock::time_point deadline);

    UniqueFd fd_;
    net::Endpoint peer_;
    std::vector<uint8_t> out_;
    size_t out_start_ = 0;
    size_t max_queued_ = kDefaultMaxQueuedBytes;
    wire::FrameBuffer in_;
    size_t rcvlowat_ = 1;  // SO_RCVLOWAT set (wake_on_whole_frame)
    std::string error_;
};

class TcpListener {
  public:
    // Binds (SO_REUSEADDR; IPv6 sockets are v6-only) and listens, nonblocking. Port 0 picks a
    // free port: see local_endpoint(). Throws Error(Network) "cannot listen on
    // 0.0.0.0:36524: Address already in use" (Permission for privileged ports).
    static TcpListener listen(const net::Endpoint& at, int backlog = 128);

    int fd() const { return fd_.get(); }
    const net::Endpoint& local_endpoint() const { return local_; }

    struct Accepted {
        std::optional<TcpConnection> connection;  // set when one was accepted
        int error = 0;  // errno of a failed accept (EMFILE, ...); 0 when none was waiting
    };
    // Accepts one pending connection (nonblocking, TCP_NODELAY). Peer addresses of IPv4
    // clients reaching an IPv6 socket are reported as IPv4.
    Accepted accept();

  private:
    TcpListener(UniqueFd fd, const net::Endpoint& local) : fd_(std::move(fd)), local_(local) {}
    UniqueFd fd_;
    net::Endpoint local_;
};

}  // namespace tcpr::os
