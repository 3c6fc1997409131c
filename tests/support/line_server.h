// A small TCP server on 127.0.0.1 (port 0) run by a thread of the test, for the socket
// transport's tests: every request is one line ("...\n"); it answers each line with
// config.answer(...) after config.answer_delay, and logs when each request arrived and each
// answer left, per connection. Faults: close or reset after N answers, never answer, greet
// first, never accept (a full accept queue: new connections are never established).
// Everything it owns is closed by the destructor (the thread is stopped and joined).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/net/flow_key.h"
#include "common/os/tcp_socket.h"

namespace tcpr::test {

struct LineServerConfig {
    // The answer to line `index` (0-based, without its '\n') of connection `conn`.
    std::function<std::string(size_t conn, size_t index, const std::string& line)> answer =
        [](size_t, size_t, const std::string& line) { return "OK " + line + "\n"; };
    std::chrono::milliseconds answer_delay{0};
    // Written after every answer, tail_delay later, as a separate write (an answer sent in two
    // parts); not an answer of its own.
    std::string tail;
    std::chrono::milliseconds tail_delay{0};
    std::optional<size_t> close_after;  // FIN after this many answers
    std::optional<size_t> reset_after;  // RST (instead of answering) at this request
    bool never_answer = false;          // read everything, answer nothing
    std::string greeting;               // sent at once to every new connection
    bool never_accept = false;          // listen with backlog 0 and never accept
    bool keep_open = false;             // never close, not even after the client's FIN
};

class LineServer {
  public:
    explicit LineServer(LineServerConfig config = {});
    ~LineServer();
    LineServer(const LineServer&) = delete;
    LineServer& operator=(const LineServer&) = delete;

    net::Endpoint address() const { return address_; }

    struct Event {
        size_t conn = 0;
        size_t index = 0;     // request index within the connection
        bool answer = false;  // false: request arrived; true: answer sent
        std::string line;
        std::chrono::steady_clock::time_point at;
    };
    std::vector<Event> events() const;
    size_t connections() const { return accepted_; }
    size_t max_open() const { return max_open_; }
    // Bytes received per connection, in accept order.
    std::vector<std::string> received() const;

  private:
    struct Conn;
    void run();

    LineServerConfig cfg_;
    os::TcpListener listener_;
    net::Endpoint address_;
    mutable std::mutex mu_;
    std::vector<Event> events_;
    std::vector<std::string> received_;
    std::atomic<size_t> accepted_{0}, max_open_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// A loopback port nobody listens on (bound and released), for "connection refused".
net::Endpoint closed_loopback_port();

}  // namespace tcpr::test
