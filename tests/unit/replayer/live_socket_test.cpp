// Live passthrough with the socket transport: a live connection (LiveSessions, fed packet by
// packet as if captured) copied by SocketTransport to a line server of the test's own on
// 127.0.0.1. Each copy is one ordinary connection; a request reaches the target only once the
// live client sent it (growing requests too), the answer to the previous one having arrived;
// the copies wait on the live client without timing out and close when it closed. Loopback
// only, every wait bounded.
#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/os/clock.h"
#include "common/os/epoll.h"
#include "replayer/sessions/live_sessions.h"
#include "replayer/transport/socket_transport.h"
#include "support/line_server.h"
#include "support/packet_factory.h"

namespace tcpr::replay {
namespace {

using net::tcp_flags::kAck;
using net::tcp_flags::kFin;
using net::tcp_flags::kPsh;
using net::tcp_flags::kSyn;
using test::Bytes;
using namespace std::chrono_literals;

constexpr uint64_t kMs = 1'000'000;

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

struct LiveSocketHarness {
    LiveSessions live;
    SocketTransport transport;
    os::Epoll epoll = os::Epoll::create();
    uint32_t copies;
    uint64_t ts = 1'700'000'000'000'000'000ull;
    uint32_t cseq = 1000, sseq = 5000;

    static LiveConfig live_config(uint32_t copies, uint64_t max_lag_ns) {
        LiveConfig c;
        c.server_port = 80;
        c.copies = copies;
        c.max_lag_ns = max_lag_ns;
        return c;
    }
    static SocketTransportOptions options(const net::Endpoint& target, LiveSessions& live,
                                          uint64_t settle_min_ns) {
        SocketTransportOptions o;
        o.target = target;
        o.timeout_ns = 3'000 * kMs;
        o.feed = &live;
        o.settle_min_ns = settle_min_ns;
        return o;
    }

    LiveSocketHarness(const net::Endpoint& target, uint32_t n,
                      uint64_t settle_min_ns = SocketTransportOptions{}.settle_min_ns,
                      uint64_t max_lag_ns = 0)
        : live(live_config(n, max_lag_ns)),
          transport(live.recording(), options(target, live, settle_min_ns)),
          copies(n) {
        transport.attach(epoll);
    }

    void packet(bool from_client, uint8_t flags, uint32_t seq, uint32_t ack, const Bytes& data) {
        test::TcpSpec t;
        t.src = from_client ? "10.0.0.1" : "10.0.0.2";
        t.dst = from_client ? "10.0.0.2" : "10.0.0.1";
        t.sport = from_client ? 40000 : 80;
        t.dport = from_client ? 80 : 40000;
        t.seq = seq;
        t.ack = ack;
        t.flags = flags;
        t.payload = data;
        if (flags & kSyn) {
            t.mss = 1460;
        }
        live.add_frame(1, ts, test::make_tcp(t), os::monotonic_ns());
        ts += kMs;
    }
    void handshake() {
        packet(true, kSyn, cseq - 1, 0, {});
        packet(false, kSyn | kAck, sseq - 1, cseq, {});
        packet(true, kAck, cseq, sseq, {});
    }
    void client_data(const std::string& d) {
        packet(true, kAck | kPsh, cseq, sseq, text(d));
        cseq += static_cast<uint32_t>(d.size());
    }
    void server_data(const std::string& d) {
        packet(false, kAck | kPsh, sseq, cseq, text(d));
        sseq += static_cast<uint32_t>(d.size());
    }
    void client_fin() {
        packet(true, kAck | kFin, cseq, sseq, {});
        ++cseq;
    }
    void server_fin() {
        packet(false, kAck | kFin, sseq, cseq, {});
        ++sseq;
    }

    // One turn of live_replay's loop: start new sessions' copies, wake changed ones, timers,
    // socket events.
    void turn() {
        const uint64_t now = os::monotonic_ns();
        std::vector<uint32_t> ids;
        live.take_new(ids);
        for (uint32_t id : ids) {
            for (uint32_t k = 0; k < copies; ++k) {
                StartEvent e;
                e.session = id;
                e.copy = k;
                REQUIRE(transport.start(e, now, now));
                live.copy_started(id);
            }
        }
        live.take_changed(ids);
        for (uint32_t id : ids) {
            live.progress(id, transport.wake(id, now));
        }
        transport.on_timer(now);
        std::vector<os::Epoll::Event> events;
        epoll.wait(events, 5);
        for (const auto& e : events) {
            transport.on_event(e, os::monotonic_ns());
        }
        transport.on_timer(os::monotonic_ns());
    }
    // Runs turns until `done` holds (true) or `limit` passed (false).
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            turn();
            if (done()) {
                return true;
            }
        }
        return false;
    }
    void run_for(std::chrono::milliseconds d) {
        run_until([] { return false; }, d);
    }
};

}  // namespace

TEST_CASE("a live session is copied over sockets request by request, in order, x copies",
          "[replay][live][socket]") {
    const uint32_t copies = GENERATE(1u, 3u);
    CAPTURE(copies);
    test::LineServerConfig cfg;
    cfg.answer_delay = 20ms;
    test::LineServer server(cfg);
    LiveSocketHarness h(server.address(), copies);

    const auto all_received = [&](const std::string& want) {
        return [&server, want, copies] {
            const auto got = server.received();
            return got.size() == copies &&
                   std::all_of(got.begin(), got.end(), [&](const auto& g) { return g == want; });
        };
    };

    h.handshake();
    h.client_data("req0\n");
    h.server_data("OK req0\n");
    REQUIRE(h.run_until(all_received("req0\n"), 3000ms));
    CHECK(server.connections() == copies);
    // The live client has not sent its next request: nothing more goes out, nothing times out.
    h.run_for(200ms);
    CHECK(server.received() == std::vector<std::string>(copies, "req0\n"));
    CHECK(h.transport.active() == copies);

    h.client_data("req1\n");
    h.server_data("OK req1\n");
    REQUIRE(h.run_until(all_received("req0\nreq1\n"), 3000ms));

    // A request that grows while copied: its first part goes out, then the rest.
    h.client_data("re");
    REQUIRE(h.run_until(all_received("req0\nreq1\nre"), 3000ms));
    h.client_data("q2\n");
    h.server_data("OK req2\n");
    REQUIRE(h.run_until(all_received("req0\nreq1\nreq2\n"), 3000ms));

    h.client_fin();
    h.server_fin();
    REQUIRE(h.run_until([&] { return h.transport.active() == 0; }, 3000ms));

    const ReplayCounters& c = h.transport.counters();
    CHECK(c.sessions_started == copies);
    CHECK(c.sessions_completed == copies);
    CHECK(c.sessions_timed_out == 0);
    CHECK(c.requests_sent == 3 * copies);
    CHECK(c.requests_unsent == 0);
    CHECK(c.responses_complete == 3 * copies);
    CHECK(c.status_match == 3 * copies);
    CHECK(c.status_mismatch == 0);
    CHECK(c.length_equal == 3 * copies);
    CHECK(c.responses_differ == 0);
    CHECK(h.transport.connections_opened() == copies);

    // Every request of every copy reached the target after the answer to the previous one.
    const auto events = server.events();
    for (size_t conn = 0; conn < copies; ++conn) {
        std::vector<std::chrono::steady_clock::time_point> req(3), ans(3);
        int seen = 0;
        for (const auto& e : events) {
            if (e.conn == conn && e.index < 3) {
                (e.answer ? ans : req)[e.index] = e.at;
                ++seen;
            }
        }
        REQUIRE(seen == 6);
        CHECK(req[1] >= ans[0]);
        CHECK(req[2] >= ans[1]);
    }
}

TEST_CASE("a live socket copy whose target answers before the online server waits for it",
          "[replay][live][socket]") {
    test::LineServer server;
    LiveSocketHarness h(server.address(), 1);
    h.handshake();
    h.client_data("a\n");
    // The target answers "OK a\n" at once; the online server has not answered yet.
    REQUIRE(
        h.run_until([&] { return server.received() == std::vector<std::string>{"a\n"}; }, 3000ms));
    h.run_for(100ms);
    h.server_data("OK a\n");
    h.client_data("b\n");
    h.server_data("NO b\n");  // the target will answer "OK b\n": a first-line mismatch
    REQUIRE(h.run_until([&] { return server.received() == std::vector<std::string>{"a\nb\n"}; },
                        3000ms));
    h.client_fin();
    h.server_fin();
    REQUIRE(h.run_until([&] { return h.transport.active() == 0; }, 3000ms));
    const ReplayCounters& c = h.transport.counters();
    CHECK(c.sessions_completed == 1);
    CHECK(c.requests_sent == 2);
    CHECK(c.status_match + h.live.stats().status_match == 1);
    CHECK(c.status_mismatch + h.live.stats().status_mismatch == 1);
    CHECK(c.length_equal == 2);
}

TEST_CASE("a live socket copy ends when the online connection closes right after its answer",
          "[replay][live][socket]") {
    // The close comes within the settle period (300 ms here) of the last answer: the copy
    // waits out the settle period, then closes; it must not wait on the live client forever.
    test::LineServer server;
    LiveSocketHarness h(server.address(), 1, 300 * kMs);
    h.handshake();
    h.client_data("a\n");
    h.server_data("OK a\n");
    REQUIRE(
        h.run_until([&] { return server.received() == std::vector<std::string>{"a\n"}; }, 3000ms));
    REQUIRE(h.run_until([&] { return h.transport.counters().response_bytes == 5; }, 3000ms));
    h.client_fin();
    h.server_fin();
    REQUIRE(h.run_until([&] { return h.transport.active() == 0; }, 2000ms));
    const ReplayCounters& c = h.transport.counters();
    CHECK(c.sessions_completed == 1);
    CHECK(c.responses_complete == 1);
    CHECK(c.status_match + h.live.stats().status_match == 1);
}

TEST_CASE(
    "a live socket copy over --max-lag behind ends after the request it is on, the client's "
    "backlog shed and counted",
    "[replay][live][socket]") {
    test::LineServerConfig cfg;
    cfg.answer_delay = 600ms;  // a target far slower than the online server
    test::LineServer server(cfg);
    LiveSocketHarness h(server.address(), 2, SocketTransportOptions{}.settle_min_ns, 200 * kMs);
    h.handshake();
    for (int i = 0; i < 5; ++i) {
        const std::string line = "req" + std::to_string(i) + "\n";
        h.client_data(line);
        h.server_data("OK " + line);
    }
    REQUIRE(h.run_until([&] { return server.received() == std::vector<std::string>(2, "req0\n"); },
                        3000ms));
    h.run_for(300ms);  // the copies wait on req0's answer, 300 ms after the client sent req4
    h.live.expire(os::monotonic_ns());
    REQUIRE(h.live.stats().cut_behind == 1);
    REQUIRE(h.run_until([&] { return h.transport.active() == 0; }, 3000ms));
    CHECK(server.received() == std::vector<std::string>(2, "req0\n"));
    const ReplayCounters& c = h.transport.counters();
    CHECK(c.sessions_completed == 2);
    CHECK(c.requests_sent == 2);
    CHECK(c.responses_complete == 2);
    CHECK(c.requests_unsent == 2 * 4);
}

}  // namespace tcpr::replay
