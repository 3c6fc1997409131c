// A SessionDriver copying a live session (LiveSessions as its feed) to a FakeTarget, with the
// live packets arriving while the copy runs: the copy handshakes before any request, sends each
// request when the live client sent it (growing requests too), waits on the live client
// without timing out, compares first lines that arrive before or after the online ones, and
// closes when the live client closed. Fake clock, no network.
#include <algorithm>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "replayer/sessions/live_sessions.h"
#include "replayer/transport/session_driver.h"
#include "support/fake_target.h"
#include "support/packet_factory.h"

namespace tcpr::replay {
namespace {

using net::tcp_flags::kAck;
using net::tcp_flags::kFin;
using net::tcp_flags::kPsh;
using net::tcp_flags::kSyn;
using test::Bytes;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

net::Endpoint ep(const char* addr, uint16_t port) {
    return net::Endpoint{*net::IpAddress::parse(addr), port};
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// The live connection as captured on the online host, and the copy's world: driver + target.
struct LiveHarness {
    LiveSessions live;
    DriverConfig cfg;
    test::FakeTarget target;
    ReplayCounters counters;
    DriverEnv env;
    uint64_t now = 1'000 * kSec;
    uint64_t ts = 1'700'000'000'000'000'000ull;
    uint32_t cseq = 0, sseq = 0;
    std::vector<std::string> requests_seen;

    static LiveConfig live_config(uint64_t max_lag_ns) {
        LiveConfig c;
        c.server_port = 80;
        c.max_lag_ns = max_lag_ns;
        return c;
    }

    explicit LiveHarness(test::FakeTargetConfig t, uint64_t max_lag_ns = 0)
        : live(live_config(max_lag_ns)), target(std::move(t)), env{live.recording(), cfg, target,
                                                                   counters,         {},  1} {
        cfg.target = ep("10.0.0.99", 80);
        cfg.timeout_ns = 30 * kSec;
        env.feed = &live;
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
        live.add_frame(1, ts, test::make_tcp(t), now);
        ts += kMs;
    }
    void client_data(const std::string& d) {
        packet(true, kAck | kPsh, cseq, sseq, text(d));
        cseq += static_cast<uint32_t>(d.size());
    }
    void server_data(const Bytes& d) {
        packet(false, kAck | kPsh, sseq, cseq, d);
        sseq += static_cast<uint32_t>(d.size());
    }

    // What RawTransport::wake does for a changed session.
    void wake(SessionDriver& d) {
        std::vector<uint32_t> ids;
        live.take_changed(ids);
        if (std::find(ids.begin(), ids.end(), d.session()) != ids.end() && !d.finished()) {
            d.flush(env, now);
        }
    }

    // Runs the copy (driver + target + reports) until `until`.
    void run_until(SessionDriver& d, uint64_t until) {
        int stuck = 0;  // timer wake-ups in a row that found nothing to do at the same time
        for (int i = 0; i < 100'000 && !d.finished(); ++i) {
            target.set_now(now);
            auto reports = target.take_reports(now);
            if (!reports.empty()) {
                for (const auto& r : reports) {
                    d.on_report(env, r, now);
                }
                d.flush(env, now);
                continue;
            }
            const uint64_t next = std::min(d.deadline_in(env), target.next_event());
            if (next == kNever || next > until) {
                break;
            }
            if (next <= now) {
                // A deadline that is due and stays due: the run loop would spin.
                INFO("the driver's deadline stays at " << next << " (now " << now << ")");
                REQUIRE(++stuck < 100);
            } else {
                stuck = 0;
            }
            now = std::max(now, next);
            target.set_now(now);
            target.tick(now);
            d.on_timer(env, now);
        }
        now = std::max(now, until);
        target.set_now(now);
    }
};

std::string http_answer(size_t body, const std::string& status = "HTTP/1.1 200 OK") {
    return status + "\r\nContent-Length: " + std::to_string(body) + "\r\n\r\n" +
           std::string(body, 'x');
}

}  // namespace

TEST_CASE("a live keep-alive session is copied request by request as the client sends it",
          "[replay][live]") {
    const uint32_t ours = GENERATE(0u, 0xfffffffbu, 0xffffffffu);
    CAPTURE(ours);
    const std::string get1 = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string get2 = "GET /two HTTP/1.1\r\nHost: a\r\n\r\n";
    const std::string ans1 = http_answer(700), ans2 = http_answer(50);
    test::FakeTargetConfig t;
    t.address = ep("10.0.0.99", 80);
    t.request_lengths = {static_cast<uint32_t>(get1.size()), static_cast<uint32_t>(get2.size())};
    t.response_lengths = {static_cast<uint32_t>(ans1.size()), static_cast<uint32_t>(ans2.size())};
    LiveHarness h(t);

    // The live SYN: the copy starts and handshakes; nothing to send yet.
    h.packet(true, kSyn, 100, 0, {});
    std::vector<uint32_t> fresh;
    h.live.take_new(fresh);
    REQUIRE(fresh.size() == 1);
    SessionDriver d(fresh[0], ep("10.0.0.1", 40000), ours);
    d.start(h.env, h.now);
    h.run_until(d, h.now + 50 * kMs);
    const auto* c = h.target.connection(ep("10.0.0.1", 40000));
    REQUIRE(c != nullptr);
    CHECK(c->state == test::FakeTarget::State::Established);
    CHECK(c->received.empty());

    h.packet(false, kSyn | kAck, 900, 101, {});
    h.cseq = 101;
    h.sseq = 901;
    h.packet(true, kAck, h.cseq, h.sseq, {});
    h.client_data(get1);
    h.wake(d);
    h.run_until(d, h.now + 50 * kMs);
    CHECK(std::string(c->received.begin(), c->received.end()) == get1);
    CHECK(c->requests_answered == 1);
    // The target answered before the online server did: compared once the online answer is in.
    CHECK(h.counters.status_match == 0);
    h.server_data(text(ans1));
    CHECK(h.live.stats().status_match == 1);

    // The live client thinks for longer than --timeout: the copy waits, it does not time out.
    h.run_until(d, h.now + 45 * kSec);
    CHECK_FALSE(d.finished());
    CHECK(d.requests_done() == 0);  // the answer is final only once the next request begins

    h.client_data(get2);
    h.server_data(text(ans2));  // this time the online answer comes first
    h.wake(d);
    h.run_until(d, h.now + 50 * kMs);
    CHECK(std::string(c->received.begin(), c->received.end()) == get1 + get2);
    CHECK(c->requests_answered == 2);
    CHECK(h.counters.status_match == 1);
    CHECK_FALSE(d.finished());

    // The live client closes: the copy closes too.
    h.packet(true, kFin | kAck, h.cseq, h.sseq, {});
    h.wake(d);
    h.run_until(d, h.now + 1 * kSec);
    CHECK(d.finished());
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.target.errors().empty());
    CHECK(c->got_fin);
    CHECK(h.counters.requests_sent == 2);
    CHECK(h.counters.responses_complete == 2);
    CHECK(h.counters.sessions_timed_out == 0);
    CHECK(h.counters.status_mismatch + h.live.stats().status_mismatch == 0);
}

TEST_CASE("a live request that grows while its copy waits is sent as it grows", "[replay][live]") {
    const std::string head = "POST /upload HTTP/1.1\r\nContent-Length: 3000\r\n\r\n";
    const std::string body(3000, 'b');
    const std::string ans = http_answer(10);
    test::FakeTargetConfig t;
    t.address = ep("10.0.0.99", 80);
    t.request_lengths = {static_cast<uint32_t>(head.size() + body.size())};
    t.response_lengths = {static_cast<uint32_t>(ans.size())};
    LiveHarness h(t);
    h.packet(true, kSyn, 100, 0, {});
    std::vector<uint32_t> fresh;
    h.live.take_new(fresh);
    SessionDriver d(fresh.at(0), ep("10.0.0.1", 40000), 5555);
    d.start(h.env, h.now);
    h.packet(false, kSyn | kAck, 900, 101, {});
    h.cseq = 101;
    h.sseq = 901;
    h.packet(true, kAck, h.cseq, h.sseq, {});
    h.client_data(head);
    h.wake(d);
    h.run_until(d, h.now + 50 * kMs);
    const auto* c = h.target.connection(ep("10.0.0.1", 40000));
    REQUIRE(c != nullptr);
    CHECK(c->received.size() == head.size());
    // The body, 2 seconds later (slow client) in two segments.
    h.run_until(d, h.now + 2 * kSec);
    h.client_data(body.substr(0, 1460));
    h.wake(d);
    h.run_until(d, h.now + 10 * kMs);
    h.client_data(body.substr(1460));
    h.wake(d);
    h.run_until(d, h.now + 50 * kMs);
    CHECK(std::string(c->received.begin(), c->received.end()) == head + body);
    CHECK(c->requests_answered == 1);
    h.server_data(text(ans));
    h.packet(true, kFin | kAck, h.cseq, h.sseq, {});
    h.wake(d);
    h.run_until(d, h.now + 1 * kSec);
    CHECK(d.outcome() == Outcome::Completed);
    CHECK(h.counters.requests_sent == 1);
    CHECK(h.counters.responses_complete == 1);
    CHECK(h.target.errors().empty());
}

TEST_CASE("a copy whose target never answers times out although the live client is idle",
          "[replay][live]") {
    const std::string get = "GET / HTTP/1.1\r\n\r\n";
    test::FakeTargetConfig t;
    t.address = ep("10.0.0.99", 80);
    // No configured request: the target acknowledges the request but never answers it.
    LiveHarness h(t);
    h.packet(true, kSyn, 100, 0, {});
    std::vector<uint32_t> fresh;
    h.live.take_new(fresh);
    SessionDriver d(fresh.at(0), ep("10.0.0.1", 40000), 1);
    d.start(h.env, h.now);
    h.packet(false, kSyn | kAck, 900, 101, {});
    h.cseq = 101;
    h.sseq = 901;
    h.packet(true, kAck, h.cseq, h.sseq, {});
    h.client_data(get);
    h.server_data(text(http_answer(20)));  // the online server answered at once
    h.wake(d);
    h.run_until(d, h.now + 60 * kSec);
    CHECK(d.finished());
    CHECK(d.outcome() == Outcome::TimedOut);
}

TEST_CASE(
    "a copy over --max-lag behind ends after the request it is on, not after the client's "
    "backlog",
    "[replay][live]") {
    const std::string get = "GET /slow HTTP/1.1\r\n\r\n";
    const std::string ans = http_answer(30);
    test::FakeTargetConfig t;
    t.address = ep("10.0.0.99", 80);
    t.request_lengths.assign(8, static_cast<uint32_t>(get.size()));
    t.response_lengths.assign(8, static_cast<uint32_t>(ans.size()));
    t.one_way_delay_ns = 2 * kSec;  // a target far slower than the online server
    LiveHarness h(t, 3 * kSec);
    h.packet(true, kSyn, 100, 0, {});
    std::vector<uint32_t> fresh;
    h.live.take_new(fresh);
    SessionDriver d(fresh.at(0), ep("10.0.0.1", 40000), 7);
    d.start(h.env, h.now);
    h.live.copy_started(d.session());
    h.packet(false, kSyn | kAck, 900, 101, {});
    h.cseq = 101;
    h.sseq = 901;
    h.packet(true, kAck, h.cseq, h.sseq, {});
    h.run_until(d, h.now + 5 * kSec);  // the copy's handshake takes 4 s
    h.client_data(get);
    h.server_data(text(ans));
    h.wake(d);
    h.run_until(d, h.now + 1 * kSec);  // request 0 sent; its answer is 3 s away
    // The online client goes on: 5 more requests, one a second, each answered at once.
    for (int i = 0; i < 5; ++i) {
        h.now += kSec;
        h.ts += kSec;
        h.client_data(get);
        h.server_data(text(ans));
        h.wake(d);
    }
    h.live.expire(h.now);
    REQUIRE(h.live.stats().cut_behind == 1);
    CHECK(h.live.recording().sessions.at(d.session()).request_count == 6);
    h.wake(d);
    h.run_until(d, h.now + 30 * kSec);
    CHECK(d.finished());
    CHECK(d.outcome() == Outcome::Completed);
    const auto* c = h.target.connection(ep("10.0.0.1", 40000));
    REQUIRE(c != nullptr);
    CHECK(c->got_fin);
    CHECK(c->requests_answered == 1);  // the request it was on, answered in full
    CHECK(h.counters.requests_sent == 1);
    CHECK(h.counters.responses_complete == 1);
    CHECK(h.counters.requests_unsent == 5);
    CHECK(h.target.errors().empty());
}

}  // namespace tcpr::replay
