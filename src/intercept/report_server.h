// The intercept's server: one thread, one epoll loop over the listening socket, the replayer
// connections and the response capture. Replayers say Hello, register the tuples of their
// connections, and receive every captured response of those tuples in batched Reports frames.
// A slow replayer's queue is bounded: reports that do not fit are dropped and counted, and
// capture never waits for a replayer. See docs/intercept-protocol.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/net/address_parse.h"
#include "common/net/flow_key.h"
#include "common/os/epoll.h"
#include "common/os/metrics_server.h"
#include "common/os/tcp_socket.h"
#include "common/wire/intercept_protocol.h"
#include "intercept/report_router.h"
#include "intercept/response_capture.h"

namespace tcpr::icpt {

struct ServerOptions {
    net::Endpoint bind{net::IpAddress::v4(0), wire::kDefaultPort};
    // Empty = every address (the programs' default is the attached networks: allow_default.h).
    net::AllowList allow;
    // Shared key (--auth-key): non-empty = every replayer must answer a Challenge with it.
    std::vector<uint8_t> auth_key;
    std::chrono::nanoseconds expiry = std::chrono::seconds(120);       // idle registrations
    std::chrono::nanoseconds idle_timeout = std::chrono::seconds(60);  // silent replayers
    std::chrono::nanoseconds hello_timeout = std::chrono::seconds(5);  // connect -> Hello
    std::chrono::nanoseconds flush_interval = std::chrono::milliseconds(5);
    // A replayer's reports wait until this long after its previous frame (the first after a
    // pause leaves at once): a busy target's answers go in fewer, larger frames, with more
    // segments merged, and the replayer wakes at most once per period (--coalesce; 0: a frame
    // per capture batch). Report times are capture times: latencies do not move.
    std::chrono::nanoseconds coalesce = std::chrono::milliseconds(1);
    size_t max_queued_bytes = 8u << 20;  // per replayer; beyond it reports are dropped
    size_t capture_batch = 1024;         // packets read before serving the sockets again
};

struct ServerStats {
    uint64_t reports_built = 0;          // TCP packets captured and decoded
    uint64_t reported = 0;               // reports queued to their replayer
    uint64_t reports_merged = 0;         // segments merged into the report before (kFeatureMerge)
    uint64_t unroutable = 0;             // no replayer has the packet's tuple registered
    uint64_t dropped_slow = 0;           // a replayer's queue was full
    uint64_t dropped_closed = 0;         // the replayer was gone by the time of the flush
    uint64_t frames_sent = 0;            // Reports frames queued
    uint64_t replayers_seen = 0;         // completed the Hello handshake
    uint64_t replayers_refused = 0;      // connections refused by the allow-list
    uint64_t auth_failed = 0;            // refused: no key, or a wrong key (--auth-key)
    uint64_t protocol_errors = 0;        // connections closed for a bad frame or message
    uint64_t idle_closed = 0;            // closed for silence (idle or no Hello in time)
    uint64_t registrations_refused = 0;  // tuples held by another replayer: not granted
    uint64_t registrations_expired = 0;
};

class ReportServer {
  public:
    // Binds the listening socket (throws "cannot listen on ...: Address already in use").
    // `capture` may be null (no capture input: tests submit reports directly); it must outlive
    // the server.
    ReportServer(const ServerOptions& options, ResponseCapture* capture);
    ~ReportServer();
    ReportServer(const ReportServer&) = delete;
    ReportServer& operator=(const ReportServer&) = delete;

    // The bound address (the real port when port 0 was asked).
    const net::Endpoint& local_endpoint() const { return listener_.local_endpoint(); }

    // Serves until should_stop() returns true (checked at least every 50 ms) or the capture
    // ends. Replayers still connected are sent nothing more and closed on destruction.
    void run(const std::function<bool()>& should_stop);
    // One loop turn: waits at most max_wait_ms for events and handles them.
    void step(int max_wait_ms);

    // Routes one report as if it had been captured now; flush() sends what is batched.
    // (Tests without a capture, and the capture path itself.)
    void submit(const wire::Report& r, SteadyTime now);
    void flush();
    // Sends what is batched for the replayers whose coalescing period (ServerOptions::coalesce)
    // is over at `now`; the others keep it until then.
    void flush_due(SteadyTime now);

    ServerStats stats() const;
    size_t replayers() const;  // connections that completed Hello and are open
    // Report bytes waiting to be sent to the replayers (batched or queued on their sockets).
    uint64_t queued_bytes() const;
    // --metrics: serves `metrics` on this loop (tags 3 .. 3 + tags() - 1, below the
    // replayers'). It must outlive the server or be detached first.
    void attach_metrics(os::MetricsServer* metrics);
    const ReportRouter& router() const { return router_; }

  private:
    struct Replayer;

    void on_accept();
    void on_capture(SteadyTime now);
    void on_replayer_event(Replayer& r, const os::Epoll::Event& ev, SteadyTime now);
    void handle_message(Replayer& r, wire::Message&& m, SteadyTime now);
    void flush_replayer(Replayer& r);
    void send_dirty(SteadyTime now, bool hold);
    bool merge_into(Replayer& r, const wire::Report& rep);
    void write_out(Replayer& r);
    // Sends `reason` as an Error message and closes (after a short linger for the peer to read);
    // `legacy`: framed as version 1, for a replayer of that version.
    void fail(Replayer& r, const std::string& reason, bool legacy = false);
    void close_now(Replayer& r, const char* why);
    void housekeeping(SteadyTime now);
    void reap();
    Replayer* find(ReplayerId id);
    void update_interest(Replayer& r);

    ServerOptions opt_;
    ResponseCapture* capture_;
    os::TcpListener listener_;
    os::Epoll epoll_;
    ReportRouter router_;
    std::unordered_map<ReplayerId, std::unique_ptr<Replayer>> replayers_;
    std::vector<ReplayerId> dirty_;            // replayers with batched reports
    SteadyTime next_due_ = SteadyTime::max();  // the earliest a held frame must leave
    std::vector<ReplayerId> dead_;             // to be removed at the end of the turn
    void accept_replayer(Replayer& r, SteadyTime now);
    // Logs a refusal at most once per address and at most kRefusalLinesPerSecond lines.
    void log_refusal(const net::IpAddress& from, const std::string& line, SteadyTime now);
    std::set<net::IpAddress> refused_logged_;
    SteadyTime refusal_window_{};
    uint32_t refusal_lines_ = 0;
    uint64_t refusals_unlogged_ = 0;
    std::vector<os::Epoll::Event> events_;
    std::vector<uint8_t> frame_scratch_;
    ReplayerId next_id_ = 16;
    SteadyTime next_housekeeping_{};
    bool listener_paused_ = false;  // accept failed (EMFILE): re-armed at housekeeping
    ServerStats stats_;
    os::MetricsServer* metrics_ = nullptr;
};

}  // namespace tcpr::icpt
