// The `--metrics ADDR:PORT` endpoint of intercept and tcpreplay2: a tiny nonblocking HTTP/1.1
// server on the program's own epoll loop, answering GET /metrics with the Prometheus text
// format (metrics/exposition.h) rendered when the request arrives, on the loop's thread, so
// nothing else ever reads the counters concurrently. Bounded: a request head of at most
// max_request_bytes, at most max_clients connections at once (one more is answered 503 and
// closed), every connection closed after its answer or after `timeout`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/net/flow_key.h"
#include "common/os/epoll.h"
#include "common/os/unique_fd.h"

namespace tcpr::os {

// The value of a --metrics option: "ADDR:PORT" with an IP address ("[::1]:9464" for IPv6)
// and a port 1-65535. Throws Error(Usage) "bad value 'x' for --metrics (...)".
net::Endpoint parse_metrics_endpoint(const std::string& text, const std::string& option);

struct MetricsServerOptions {
    size_t max_request_bytes = 8192;
    size_t max_clients = 4;  // at most kMaxClients
    std::chrono::milliseconds timeout{5000};
};

struct MetricsServerStats {
    uint64_t scrapes = 0;       // GET/HEAD /metrics answered
    uint64_t not_found = 0;     // 404 and 405
    uint64_t bad_requests = 0;  // 400 and 431
    uint64_t busy = 0;          // connections over max_clients (503)
    uint64_t timed_out = 0;     // closed at the timeout
};

class MetricsServer {
  public:
    static constexpr size_t kMaxClients = 16;
    using SteadyTime = std::chrono::steady_clock::time_point;
    // Renders the metrics text (called on the loop's thread, once per scrape).
    using Render = std::function<std::string()>;

    // Listens on `at` (nonblocking). Throws Error(Network) "cannot listen on
    // 127.0.0.1:9464: Address already in use".
    MetricsServer(const net::Endpoint& at, Render render, MetricsServerOptions options = {});
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    const net::Endpoint& local_endpoint() const { return local_; }

    // Adds the listener to `epoll`; the server uses the tags first_tag .. first_tag + tags() - 1.
    void attach(Epoll& epoll, uint64_t first_tag);
    // Closes every connection and leaves the epoll instance (before it goes away).
    void detach();
    size_t tags() const { return 1 + opt_.max_clients; }
    bool owns(uint64_t tag) const {
        return epoll_ != nullptr && tag >= first_tag_ && tag < first_tag_ + tags();
    }
    // An event of one of its tags.
    void on_event(const Epoll::Event& event, SteadyTime now);
    // Closes connections past their timeout (call at least every few hundred ms).
    void on_timer(SteadyTime now);

    size_t clients() const;
    const MetricsServerStats& stats() const { return stats_; }

  private:
    struct Client {
        UniqueFd fd = UniqueFd::adopt(-1);
        std::string in, out;
        size_t out_done = 0;
        bool answered = false;  // `out` is the whole answer; after it, wait for the peer's close
        SteadyTime deadline;
    };

    void on_accept(SteadyTime now);
    void on_client(size_t slot, const Epoll::Event& event);
    void answer(size_t slot);
    void write_out(size_t slot);
    void close_slot(size_t slot);

    MetricsServerOptions opt_;
    Render render_;
    UniqueFd listener_ = UniqueFd::adopt(-1);
    net::Endpoint local_;
    Epoll* epoll_ = nullptr;
    uint64_t first_tag_ = 0;
    std::vector<std::unique_ptr<Client>> slots_;
    MetricsServerStats stats_;
};

}  // namespace tcpr::os
