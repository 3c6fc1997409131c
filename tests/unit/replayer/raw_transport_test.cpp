// RawTransport + run loop + InterceptClient end to end in one process, over loopback TCP only:
// a fake intercept (a thread serving the wire protocol on 127.0.0.1) reports what a FakeTarget
// answers to the packets the transport sends. No root, no packets leave the process.
#include "replayer/transport/raw_transport.h"

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "common/base/error.h"
#include "common/os/auth.h"
#include "common/os/clock.h"
#include "common/os/tcp_socket.h"
#include "replayer/run/replay.h"
#include "support/fake_target.h"

namespace tcpr::replay {
namespace {

using namespace std::chrono_literals;

net::Endpoint ep(const char* addr, uint16_t port) {
    return net::Endpoint{*net::IpAddress::parse(addr), port};
}

// Two recorded sessions (20 ms apart), two requests each.
Recording two_sessions() {
    Recording rec;
    rec.first_ns = 1'000'000'000;
    rec.last_ns = rec.first_ns + 30'000'000;
    for (int i = 0; i < 2; ++i) {
        RecordedSession s;
        s.client = ep("10.0.0.1", static_cast<uint16_t>(40000 + i));
        s.server = ep("10.0.0.2", 80);
        s.start_ns = rec.first_ns + static_cast<uint64_t>(i) * 20'000'000;
        s.has_syn = true;
        s.mss = 1460;
        s.rtt_ns = 1'000'000;
        s.close = CloseKind::Fin;
        s.stream_off = rec.arena.size();
        s.first_request = static_cast<uint32_t>(rec.requests.size());
        uint32_t off = 0;
        for (uint32_t len : {300u, 3000u}) {
            RecordedRequest r;
            r.begin = off;
            r.length = len;
            r.response_len = 2000;
            r.status_off = static_cast<uint32_t>(rec.text.size());
            r.status_len = 15;
            rec.text += "HTTP/1.1 200 OK";
            for (uint32_t k = 0; k < len; ++k) {
                rec.arena.push_back(static_cast<uint8_t>(k * 13 + i));
            }
            off += len;
            rec.requests.push_back(r);
        }
        s.stream_len = off;
        s.request_count = 2;
        rec.sessions.push_back(s);
    }
    return rec;
}

// The FakeTarget behind a mutex: the transport sends from the run loop's thread, the fake
// intercept reads reports from its own.
class SharedTarget final : public net::PacketSink {
  public:
    explicit SharedTarget(test::FakeTargetConfig c) : target(std::move(c)) {}
    net::SendStatus send(std::span<const uint8_t> p) override {
        std::lock_guard<std::mutex> lock(mu);
        target.set_now(os::monotonic_ns());
        return target.send(p);
    }
    std::mutex mu;
    test::FakeTarget target;
};

// Speaks intercept's side of the protocol for one replayer at a time.
class FakeIntercept {
  public:
    // `key`: ask every replayer to prove it (Challenge/Auth), as intercept --auth-key does.
    explicit FakeIntercept(SharedTarget& t, std::vector<uint8_t> key = {})
        : target_(t), key_(std::move(key)), listener_(os::TcpListener::listen(ep("127.0.0.1", 0))) {
        thread_ = std::thread([this] { run(); });
    }
    ~FakeIntercept() {
        stop_ = true;
        thread_.join();
    }
    net::Endpoint address() const { return listener_.local_endpoint(); }
    // Closes the replayer's connection once `reports` reports were sent (simulated crash).
    void drop_after_reports(uint64_t reports) { drop_after_ = reports; }

    // Refuses (wire::Refused) the first `n` tuples registered, as intercept does with tuples
    // another replayer holds.
    void refuse_first(uint64_t n) { refuse_ = n; }

    std::atomic<uint64_t> registered{0}, unregistered{0}, reports_sent{0}, connections{0};
    std::atomic<uint64_t> auth_failed{0}, refused{0};

  private:
    void run() {
        std::optional<os::TcpConnection> conn;
        while (!stop_) {
            if (!conn) {
                auto a = listener_.accept();
                if (a.connection) {
                    conn.emplace(std::move(*a.connection));
                    ++connections;
                }
            }
            if (conn) {
                const auto st = conn->receive();
                for (auto r = conn->next_message(); r.status == wire::DecodeStatus::Ok;
                     r = conn->next_message()) {
                    handle(*conn, *r.message);
                }
                if (st == os::IoStatus::Closed) {
                    conn.reset();
                }
            }
            wire::Reports batch;
            {
                std::lock_guard<std::mutex> lock(target_.mu);
                const uint64_t now = os::monotonic_ns();
                target_.target.tick(now);
                batch.reports = target_.target.take_reports(now);
            }
            if (conn && !batch.reports.empty()) {
                reports_sent += batch.reports.size();
                (void)conn->send(batch);
            }
            // Reports are lost while no replayer is connected, as with a real intercept.
            if (conn) {
                (void)conn->flush();
                if (drop_after_ != 0 && reports_sent >= drop_after_) {
                    drop_after_ = 0;
                    conn.reset();  // the replayer sees the connection close
                }
            }
            std::this_thread::sleep_for(200us);
        }
    }
    void handle(os::TcpConnection& c, const wire::Message& m) {
        if (auto* hello = std::get_if<wire::Hello>(&m)) {
            if (!key_.empty()) {
                hello_ = *hello;
                challenge_ = os::make_challenge();
                (void)c.send(challenge_);
                return;
            }
            (void)c.send(wire::HelloAck{wire::kProtocolVersion, 120,
                                        hello->features & wire::kKnownFeatures});
        } else if (auto* auth = std::get_if<wire::Auth>(&m)) {
            if (os::auth_valid(key_, challenge_, hello_, *auth)) {
                (void)c.send(wire::HelloAck{wire::kProtocolVersion, 120,
                                            hello_.features & wire::kKnownFeatures});
            } else {
                ++auth_failed;
                (void)c.send(wire::ErrorMsg{"authentication failed: wrong key"});
            }
        } else if (std::get_if<wire::ErrorMsg>(&m)) {
            ++auth_failed;
        } else if (auto* reg = std::get_if<wire::Register>(&m)) {
            registered += reg->tuples.size();
            wire::Refused no;
            for (const wire::Tuple& t : reg->tuples) {
                if (refuse_ > 0) {
                    --refuse_;
                    no.tuples.push_back(t);
                }
            }
            if (!no.tuples.empty()) {
                refused += no.tuples.size();
                (void)c.send(no);
            }
        } else if (auto* un = std::get_if<wire::Unregister>(&m)) {
            unregistered += un->tuples.size();
        } else if (auto* ping = std::get_if<wire::Ping>(&m)) {
            (void)c.send(*ping);
        }
    }

    SharedTarget& target_;
    std::vector<uint8_t> key_;
    wire::Hello hello_;
    wire::Challenge challenge_;
    std::atomic<uint64_t> refuse_{0};
    os::TcpListener listener_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> drop_after_{0};
    std::thread thread_;
};

test::FakeTargetConfig target_config() {
    test::FakeTargetConfig t;
    t.address = ep("10.0.0.2", 80);
    t.request_lengths = {300, 3000};
    t.response_lengths = {2000, 2000};
    t.one_way_delay_ns = 0;  // the loopback hop is the delay
    return t;
}

struct Run {
    ReplayCounters counters;
    RunResult result;
    std::set<net::Endpoint> clients;
};

Run replay(const Recording& rec, SharedTarget& target, FakeIntercept& icpt, uint32_t copies,
           uint32_t loops, uint32_t speed_milli, uint64_t timeout_ns = 5'000'000'000,
           std::vector<uint8_t> key = {}) {
    InterceptOptions io;
    io.address = icpt.address();
    io.auth_key = std::move(key);
    io.connect_timeout = 2000ms;
    auto client = std::make_unique<InterceptClient>(io);
    client->connect();
    RawTransportOptions ro;
    ro.driver.target = ep("10.0.0.2", 80);
    ro.driver.speed_milli = speed_milli;
    ro.driver.timeout_ns = timeout_ns;
    ro.copies = copies;
    ro.isn_seed = 42;
    // The shared target stays owned by the test: hand the transport a forwarding sink.
    struct Forward final : net::PacketSink {
        explicit Forward(SharedTarget& t) : t_(t) {}
        net::SendStatus send(std::span<const uint8_t> p) override { return t_.send(p); }
        SharedTarget& t_;
    };
    RawTransport transport(rec, ro, std::make_unique<Forward>(target), std::move(client));
    std::vector<uint64_t> offsets;
    for (const auto& s : rec.sessions) {
        offsets.push_back(s.start_ns - rec.first_ns);
    }
    Scheduler sched(offsets, rec.span_ns(), {speed_milli, copies, loops, {}});
    RunLoopOptions lo;
    lo.progress = false;
    lo.start_delay_ns = transport.lead_ns();
    Run r;
    r.result = run_loop(rec, sched, transport, lo);
    r.counters = transport.counters();
    r.counters.sessions_planned = sched.total();
    return r;
}

}  // namespace

TEST_CASE("copies x loops replay through a loopback intercept, every tuple distinct",
          "[replay][transport]") {
    const Recording rec = two_sessions();
    SharedTarget target(target_config());
    FakeIntercept icpt(target);
    const auto start = std::chrono::steady_clock::now();
    const Run r = replay(rec, target, icpt, 3, 2, 1000);
    const auto took = std::chrono::steady_clock::now() - start;

    const ReplayCounters& c = r.counters;
    CHECK(c.sessions_planned == 12);
    CHECK(c.sessions_started == 12);
    CHECK(c.sessions_completed == 12);
    CHECK(c.requests_sent == 24);
    CHECK(c.responses_complete == 24);
    CHECK(c.status_match == 24);
    CHECK(c.reports_unmatched == 0);
    CHECK(r.result.stop_reason.empty());
    CHECK(icpt.registered >= 12);
    // The last Unregister frames were written as the run ended: give the fake a moment.
    for (int i = 0; i < 200 && icpt.unregistered < 12; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    CHECK(icpt.unregistered == 12);
    std::lock_guard<std::mutex> lock(target.mu);
    CHECK(target.target.errors().empty());  // e.g. "SYN for a live 4-tuple" would be listed
    CHECK(target.target.connections() == 12);
    CHECK(icpt.connections == 1);
    // Every SYN's send time against its schedule (the report's start_lateness): none early,
    // none late by more than the run itself took.
    CHECK(c.start_lateness.count() == 12);
    CHECK(c.start_lateness.early() == 0);
    CHECK(c.start_lateness.max_ns() < 3'000'000'000ull);
    // Two loops of a 30 ms recording at 1x: about 60 ms of schedule, well under a second.
    CHECK(took < 3s);
}

TEST_CASE("a lost intercept connection is reconnected and the run still ends",
          "[replay][transport]") {
    const Recording rec = two_sessions();
    SharedTarget target(target_config());
    FakeIntercept icpt(target);
    icpt.drop_after_reports(4);  // mid-session: right after the first handshakes
    const Run r = replay(rec, target, icpt, 2, 1, 1000, 3'000'000'000);
    const ReplayCounters& c = r.counters;
    CHECK(c.intercept_disconnects == 1);
    CHECK(c.intercept_reconnects == 1);
    CHECK(icpt.connections == 2);
    CHECK(c.sessions_done() == 4);
    CHECK(c.sessions_completed + c.sessions_timed_out == 4);
    CHECK(c.sessions_aborted == 0);
}

TEST_CASE("an unreachable intercept is one clear error at start", "[replay][transport]") {
    net::Endpoint free_port;
    {
        auto l = os::TcpListener::listen(ep("127.0.0.1", 0));
        free_port = l.local_endpoint();
    }  // closed: nobody listens there now
    InterceptOptions io;
    io.address = free_port;
    InterceptClient client(io);
    CHECK_THROWS_WITH(client.connect(), "cannot reach intercept at " + free_port.to_string() +
                                            ": Connection refused (is intercept running there?)");
    CHECK_FALSE(client.connected());
}

TEST_CASE("an intercept of protocol version 1 refuses a new replayer with one clear line",
          "[replay][transport]") {
    // What intercept 1.x answers any frame of another version: an Error framed as version 1.
    auto listener = os::TcpListener::listen(ep("127.0.0.1", 0));
    const net::Endpoint where = listener.local_endpoint();
    std::thread old_intercept([&] {
        for (int i = 0; i < 500; ++i) {
            os::TcpListener::Accepted a = listener.accept();
            if (a.connection) {
                const auto refusal = wire::encode_legacy_error(
                    "bad frame: unsupported protocol version (this intercept speaks version 1)");
                (void)a.connection->queue(refusal);
                (void)a.connection->flush();
                std::this_thread::sleep_for(200ms);
                return;
            }
            std::this_thread::sleep_for(10ms);
        }
    });
    InterceptOptions io;
    io.address = where;
    InterceptClient client(io);
    CHECK_THROWS_WITH(client.connect(),
                      "intercept at " + where.to_string() +
                          " refused this replayer: bad frame: unsupported protocol version (this "
                          "intercept speaks version 1) (this tcpreplay2 speaks intercept "
                          "protocol version 2)");
    CHECK_FALSE(client.connected());
    old_intercept.join();
}

TEST_CASE("a registration intercept refuses fails its session copy, counted, with no SYN sent",
          "[replay][transport][door]") {
    const Recording rec = two_sessions();
    SharedTarget target(target_config());
    FakeIntercept icpt(target);
    icpt.refuse_first(1);
    const Run r = replay(rec, target, icpt, 2, 1, 1000);
    const ReplayCounters& c = r.counters;
    CHECK(icpt.refused == 1);
    CHECK(c.sessions_started == 4);
    CHECK(c.sessions_completed == 3);
    CHECK(c.sessions_aborted == 1);
    CHECK(c.sessions_refused_tuple_held == 1);
    CHECK(c.sessions_failed() == 1);
    std::lock_guard<std::mutex> lock(target.mu);
    CHECK(target.target.connections() == 3);  // the refused copy sent nothing
}

const std::vector<uint8_t> kKey = {'0', '1', '2', '3', '4', '5', '6', '7',
                                   '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

TEST_CASE("with intercept's key the replay runs; without it or with another, one clear line",
          "[replay][transport][door]") {
    const Recording rec = two_sessions();
    SharedTarget target(target_config());
    FakeIntercept icpt(target, kKey);
    SECTION("the right key") {
        const Run r = replay(rec, target, icpt, 1, 1, 1000, 5'000'000'000, kKey);
        CHECK(r.counters.sessions_completed == 2);
        CHECK(icpt.auth_failed == 0);
    }
    SECTION("no key") {
        InterceptOptions io;
        io.address = icpt.address();
        InterceptClient client(io);
        CHECK_THROWS_WITH(client.connect(),
                          "intercept at " + icpt.address().to_string() +
                              " requires a key: give tcpreplay2 --auth-key FILE (a copy of the "
                              "file given to intercept's --auth-key)");
        CHECK_FALSE(client.connected());
        for (int i = 0; i < 200 && icpt.auth_failed == 0; ++i) {
            std::this_thread::sleep_for(5ms);
        }
        CHECK(icpt.auth_failed == 1);  // told, so intercept counts it
    }
    SECTION("another key") {
        InterceptOptions io;
        io.address = icpt.address();
        io.auth_key = kKey;
        io.auth_key.back() = 'g';
        InterceptClient client(io);
        CHECK_THROWS_WITH(client.connect(), "intercept at " + icpt.address().to_string() +
                                                " refused this replayer: authentication "
                                                "failed: wrong key");
        CHECK(icpt.auth_failed == 1);
    }
}

TEST_CASE("a replayer with a key still works with an intercept that asks for none",
          "[replay][transport][door]") {
    const Recording rec = two_sessions();
    SharedTarget target(target_config());
    FakeIntercept icpt(target);
    const Run r = replay(rec, target, icpt, 1, 1, 1000, 5'000'000'000, kKey);
    CHECK(r.counters.sessions_completed == 2);
}

}  // namespace tcpr::replay
