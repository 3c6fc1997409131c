// ReportServer over loopback (127.0.0.1, port 0; no root): handshake, registration, routing of
// captured packets to exactly the replayer that registered them, refusals, slow replayers.
#include "intercept/report_server.h"

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/os/auth.h"
#include "common/os/tcp_socket.h"
#include "support/packet_factory.h"

namespace {

using namespace tcpr;
using namespace tcpr::icpt;
using namespace std::chrono_literals;
using test::Bytes;

constexpr auto kTimeout = std::chrono::milliseconds(5000);

net::Endpoint ep(const std::string& addr, uint16_t port) {
    const auto a = net::IpAddress::parse(addr);
    REQUIRE(a);
    return net::Endpoint{*a, port};
}

wire::Tuple tuple(uint16_t client_port, const std::string& client = "10.0.0.1",
                  const std::string& server = "10.0.0.2", uint16_t server_port = 80) {
    return wire::Tuple{ep(client, client_port), ep(server, server_port)};
}

// A response of the server of `t` to its client, as captured on Ethernet.
Bytes response(const wire::Tuple& t, uint32_t seq, const std::string& payload = "") {
    test::TcpSpec s;
    s.src = t.server.addr.to_string();
    s.dst = t.client.addr.to_string();
    s.sport = t.server.port;
    s.dport = t.client.port;
    s.seq = seq;
    s.ack = 1;
    s.flags =
        payload.empty() ? (net::tcp_flags::kSyn | net::tcp_flags::kAck) : net::tcp_flags::kAck;
    if (payload.empty()) {
        s.mss = 1460;
    }
    s.payload = test::to_bytes(payload);
    return test::make_tcp(s);
}

// A capture fed by the test thread: frames pushed here come out of next() in the server's
// thread; an eventfd makes it selectable like a live pcap handle.
class QueueSource final : public os::PacketSource {
  public:
    QueueSource() : efd_(os::UniqueFd::adopt(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))) {
        REQUIRE(efd_);
    }
    // All at once, as a burst of packets arriving together.
    void push(std::vector<Bytes> frames) {
        std::lock_guard<std::mutex> lock(mu_);
        for (Bytes& f : frames) {
            queue_.push_back(std::move(f));
        }
        const uint64_t one = 1;
        REQUIRE(::write(efd_.get(), &one, sizeof one) == sizeof one);
    }
    Status next(os::CapturedPacket& out) override {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.empty()) {
            uint64_t v = 0;
            (void)::read(efd_.get(), &v, sizeof v);  // not readable until the next push
            return Status::Timeout;
        }
        current_ = std::move(queue_.front());
        queue_.pop_front();
        out.ts_ns = 1000 + taken_;
        out.orig_len = static_cast<uint32_t>(current_.size());
        out.bytes = current_;
        ++taken_;
        return Status::Packet;
    }
    uint64_t taken() const { return taken_.load(); }
    uint32_t link_type() const override { return 1; }
    uint32_t snaplen() const override { return 65535; }
    os::CaptureCounters counters() const override { return {}; }
    std::string describe() const override { return "queue"; }
    int selectable_fd() const override { return efd_.get(); }

  private:
    os::UniqueFd efd_;
    std::mutex mu_;
    std::deque<Bytes> queue_;
    Bytes current_;
    std::atomic<uint64_t> taken_{0};
};

// A replayer's side, with the blocking helpers of TcpConnection.
struct Client {
    os::TcpConnection conn;
    std::vector<wire::Report> reports;
    uint64_t next_nonce = 1;

    static Client connect(const net::Endpoint& server, const std::string& name) {
        Client c{os::TcpConnection::connect(server, kTimeout), {}, 1};
        c.conn.send_blocking(wire::Hello{wire::kProtocolVersion, name}, kTimeout);
        auto m = c.conn.receive_blocking(kTimeout);
        REQUIRE(m);
        REQUIRE(std::holds_alternative<wire::HelloAck>(*m));
        CHECK(std::get<wire::HelloAck>(*m).version == wire::kProtocolVersion);
        return c;
    }
    void send(const wire::Message& m) { conn.send_blocking(m, kTimeout); }
    // Sends a Ping and collects every report until its echo: whatever the server had
    // processed before the Ping (a Register, captured packets) is then known to be done.
    void sync() {
        const uint64_t nonce = next_nonce++;
        send(wire::Ping{nonce});
        const auto deadline = std::chrono::steady_clock::now() + kTimeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto m = conn.receive_blocking(kTimeout);
            REQUIRE(m);
            if (auto* rs = std::get_if<wire::Reports>(&*m)) {
                reports.insert(reports.end(), rs->reports.begin(), rs->reports.end());
            } else if (auto* p = std::get_if<wire::Ping>(&*m)) {
                REQUIRE(p->nonce == nonce);
                return;
            } else {
                FAIL("unexpected message while waiting for the Ping echo");
            }
        }
        FAIL("no Ping echo in time");
    }
};

// Runs server.step() until `done` holds (bounded): the single-threaded way to drive a server.
template <typename Pred>
bool step_until(ReportServer& server, Pred done, std::chrono::milliseconds limit = kTimeout) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        server.step(5);
    }
    return true;
}

// The next message on `c` if one has arrived (nonblocking).
std::optional<wire::Message> poll_message(os::TcpConnection& c) {
    wire::DecodeResult r = c.next_message();
    if (r.status == wire::DecodeStatus::NeedMore) {
        (void)c.receive();
        r = c.next_message();
    }
    REQUIRE((r.status == wire::DecodeStatus::Ok || r.status == wire::DecodeStatus::NeedMore));
    return std::move(r.message);
}

// Steps the server until a message arrives on `c`.
wire::Message step_for_message(ReportServer& server, os::TcpConnection& c) {
    std::optional<wire::Message> m;
    REQUIRE(step_until(server, [&] {
        m = poll_message(c);
        return m.has_value();
    }));
    return std::move(*m);
}

// Steps the server until it has closed `c` (end of stream), with no message left unread.
void step_until_closed(ReportServer& server, os::TcpConnection& c) {
    REQUIRE(step_until(server, [&] { return c.receive() == os::IoStatus::Closed; }));
    CHECK(c.next_message().status == wire::DecodeStatus::NeedMore);
}

os::TcpConnection connect_with_hello(const net::Endpoint& server, const std::string& name,
                                     uint32_t features = 0) {
    auto c = os::TcpConnection::connect(server, kTimeout);
    c.send_blocking(wire::Hello{wire::kProtocolVersion, name, features},
                    kTimeout);  // kernel-buffered
    return c;
}

ServerOptions loopback_options() {
    ServerOptions o;
    o.bind = ep("127.0.0.1", 0);
    return o;
}

// Runs a server's loop in a thread; stop() (or destruction) ends and joins it.
class ServerThread {
  public:
    explicit ServerThread(ReportServer& server)
        : thread_([this, &server] { server.run([this] { return stop_.load(); }); }) {}
    ~ServerThread() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }

  private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace

TEST_CASE("two replayers each receive exactly the responses of the tuples they registered",
          "[intercept]") {
    auto source = std::make_unique<QueueSource>();
    QueueSource& queue = *source;
    ResponseCapture capture(std::move(source));
    ReportServer server(loopback_options(), &capture);
    REQUIRE(server.local_endpoint().port != 0);
    ServerThread running(server);

    Client a = Client::connect(server.local_endpoint(), "replayer A");
    Client b = Client::connect(server.local_endpoint(), "replayer B");

    // A and B use the same client and server addresses; only the client ports differ.
    std::vector<wire::Tuple> ta, tb;
    for (uint16_t p = 0; p < 20; ++p) {
        ta.push_back(tuple(static_cast<uint16_t>(40000 + p)));
        tb.push_back(tuple(static_cast<uint16_t>(40100 + p)));
    }
    tb.push_back(tuple(40000, "fd00::1", "fd00::2", 80));  // IPv6, same port as one of A's
    a.send(wire::Register{ta});
    b.send(wire::Register{tb});
    a.sync();  // the echo means the registration is in force
    b.sync();

    // Three responses per registered tuple, plus packets nobody registered, in one burst.
    std::vector<Bytes> burst;
    for (const auto* list : {&ta, &tb}) {
        for (const wire::Tuple& t : *list) {
            burst.push_back(response(t, 5000));
            burst.push_back(response(t, 5001, "HTTP/1.1 200 OK\r\n"));
            burst.push_back(response(t, 5018, "hello"));
        }
    }
    burst.push_back(response(tuple(40000, "10.0.0.1", "10.0.0.2", 8080), 1, "x"));  // server port
    burst.push_back(response(tuple(40200), 1, "x"));              // nobody's client port
    burst.push_back(response(tuple(40100, "10.0.0.9"), 1, "x"));  // other client address
    burst.push_back(test::make_udp({}));                          // not TCP
    const uint64_t pushed = burst.size();
    queue.push(std::move(burst));

    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (queue.taken() < pushed && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
    }
    REQUIRE(queue.taken() == pushed);
    // A Ping sent now is handled after the capture turn that took the last packet.
    a.sync();
    b.sync();

    auto check_client = [](const Client& c, const std::vector<wire::Tuple>& mine) {
        REQUIRE(c.reports.size() == 3 * mine.size());
        size_t i = 0;
        for (const wire::Tuple& t : mine) {
            CAPTURE(t.client.to_string());
            // Per tuple, in capture order: SYN-ACK (with MSS), then the two data segments.
            CHECK(c.reports[i].tuple == t);
            CHECK(c.reports[i].seq == 5000);
            CHECK(c.reports[i].mss == 1460);
            CHECK(c.reports[i + 1].tuple == t);
            CHECK(c.reports[i + 1].payload_len == 17);
            CHECK(std::string(c.reports[i + 1].payload_head.begin(),
                              c.reports[i + 1].payload_head.end()) == "HTTP/1.1 200 OK\r\n");
            CHECK(c.reports[i + 2].tuple == t);
            CHECK(c.reports[i + 2].seq == 5018);
            i += 3;
        }
    };
    check_client(a, ta);
    check_client(b, tb);

    running.stop();
    const ServerStats s = server.stats();
    CHECK(s.replayers_seen == 2);
    CHECK(s.reported == 3 * (ta.size() + tb.size()));
    CHECK(s.unroutable == 3);
    CHECK(s.dropped_slow == 0);
    CHECK(s.frames_sent >= 1);
    CHECK(s.frames_sent < s.reported / 10);  // batched: many reports per frame
    CHECK(capture.packets() == pushed);
    CHECK(capture.skips().of(net::SkipReason::NotTcp) == 1);
}

TEST_CASE("a replayer from an address outside the allow-list is refused with a reason",
          "[intercept]") {
    ServerOptions o = loopback_options();
    o.allow = *net::AllowList::parse({"10.0.0.0/8", "::1"});
    ReportServer server(o, nullptr);

    auto c = connect_with_hello(server.local_endpoint(), "intruder");
    const wire::Message m = step_for_message(server, c);
    REQUIRE(std::holds_alternative<wire::ErrorMsg>(m));
    CHECK(std::get<wire::ErrorMsg>(m).reason ==
          "address 127.0.0.1 is not allowed to use this intercept (its --allow)");
    step_until_closed(server, c);
    CHECK(server.stats().replayers_refused == 1);
    CHECK(server.stats().replayers_seen == 0);
    CHECK(server.replayers() == 0);

    // Again from the same address: refused again (the log line is written once).
    auto c2 = os::TcpConnection::connect(server.local_endpoint(), kTimeout);
    REQUIRE(std::holds_alternative<wire::ErrorMsg>(step_for_message(server, c2)));
    step_until_closed(server, c2);
    CHECK(server.stats().replayers_refused == 2);
}

TEST_CASE("a replayer inside the allow-list is accepted", "[intercept]") {
    ServerOptions o = loopback_options();
    o.allow = *net::AllowList::parse({"10.0.0.0/8", "127.0.0.0/8"});
    o.expiry = std::chrono::seconds(90);
    ReportServer server(o, nullptr);
    auto c = connect_with_hello(server.local_endpoint(), "friend");
    const wire::Message m = step_for_message(server, c);
    REQUIRE(std::holds_alternative<wire::HelloAck>(m));
    CHECK(std::get<wire::HelloAck>(m).expiry_seconds == 90);
    CHECK(server.replayers() == 1);
    CHECK(server.stats().replayers_refused == 0);

    c.send_blocking(wire::Ping{0xfeedULL}, kTimeout);
    const wire::Message echo = step_for_message(server, c);
    REQUIRE(std::holds_alternative<wire::Ping>(echo));
    CHECK(std::get<wire::Ping>(echo).nonce == 0xfeedULL);
}

TEST_CASE("the handshake refuses other versions and anything before Hello", "[intercept]") {
    ReportServer server(loopback_options(), nullptr);
    auto refused = [&](const std::vector<uint8_t>& first_bytes) {
        auto c = os::TcpConnection::connect(server.local_endpoint(), kTimeout);
        REQUIRE(c.queue(first_bytes));
        REQUIRE(c.flush() == os::IoStatus::Ok);
        wire::Message m = step_for_message(server, c);
        if (std::holds_alternative<wire::HelloAck>(m)) {
            m = step_for_message(server, c);
        }
        REQUIRE(std::holds_alternative<wire::ErrorMsg>(m));
        step_until_closed(server, c);
        return std::get<wire::ErrorMsg>(m).reason;
    };
    SECTION("Hello announcing version 3") {
        CHECK(refused(wire::encode(wire::Hello{3, "future"})) ==
              "protocol version 3 is not supported (this intercept speaks version 2)");
    }
    SECTION("a frame of protocol version 3") {
        auto bytes = wire::encode(wire::Hello{wire::kProtocolVersion, "x"});
        bytes[0] = 3;
        CHECK(refused(bytes) ==
              "this intercept speaks protocol version 2, the replayer another: use a "
              "tcpreplay2 of the intercept's release");
    }
    SECTION("an old replayer's Hello (version 1), answered in words it reads") {
        // Version 1's Hello: [version u8][name text], framed as version 1.
        const std::vector<uint8_t> hello = {1, 1, 0, 0, 0, 0, 0, 4, 1, 0, 1, 'x'};
        os::TcpConnection c = os::TcpConnection::connect(server.local_endpoint(), kTimeout);
        REQUIRE(::send(c.fd(), hello.data(), hello.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(hello.size()));
        std::vector<uint8_t> got;
        REQUIRE(step_until(server, [&] {
            std::array<uint8_t, 512> buf{};
            const ssize_t n = ::recv(c.fd(), buf.data(), buf.size(), MSG_DONTWAIT);
            if (n > 0) {
                got.insert(got.end(), buf.begin(), buf.begin() + n);
            }
            return got.size() >= wire::kHeaderBytes;
        }));
        CHECK(got[0] == wire::kLegacyVersion);  // a version-1 decoder reads it
        CHECK(got[1] == static_cast<uint8_t>(wire::MessageType::Error));
        step_until_closed(server, c);
    }
    SECTION("Register before Hello") {
        CHECK(refused(wire::encode(wire::Register{{tuple(1)}})) ==
              "the first message must be Hello");
    }
    SECTION("a replayer sending Reports") {
        auto bytes = wire::encode(wire::Hello{wire::kProtocolVersion, "x"});
        wire::encode(wire::Reports{}, bytes);
        CHECK(refused(bytes) == "unexpected message from a replayer");
    }
    SECTION("a malformed body") {
        auto bytes = wire::encode(wire::Hello{wire::kProtocolVersion, "x"});
        const auto reg = wire::encode(wire::Register{{tuple(1)}});
        bytes.insert(bytes.end(), reg.begin(), reg.end() - 1);
        bytes[bytes.size() - reg.size() + 1 + 7] -= 1;  // length says one byte less
        CHECK(refused(bytes) == "bad frame: malformed message");
    }
    CHECK(server.stats().protocol_errors == 1);
    CHECK(server.replayers() == 0);
}

TEST_CASE("no takeover: a tuple another replayer holds is refused until its owner lets it go",
          "[intercept][door]") {
    ReportServer server(loopback_options(), nullptr);
    auto a = connect_with_hello(server.local_endpoint(), "A");
    // B understands Refused; C is an older replayer that does not.
    std::optional<os::TcpConnection> b =
        connect_with_hello(server.local_endpoint(), "B", wire::kFeatureRefusals);
    auto c = connect_with_hello(server.local_endpoint(), "C");
    REQUIRE(std::holds_alternative<wire::HelloAck>(step_for_message(server, a)));
    const wire::Message ack_b = step_for_message(server, *b);
    REQUIRE(std::holds_alternative<wire::HelloAck>(ack_b));
    CHECK(std::get<wire::HelloAck>(ack_b).features == wire::kFeatureRefusals);
    REQUIRE(std::holds_alternative<wire::HelloAck>(step_for_message(server, c)));

    a.send_blocking(wire::Register{{tuple(1), tuple(2), tuple(3)}}, kTimeout);
    REQUIRE(step_until(server, [&] { return server.router().size() == 3; }));
    b->send_blocking(wire::Register{{tuple(3), tuple(4)}}, kTimeout);  // 3 is A's
    const wire::Message refused = step_for_message(server, *b);
    REQUIRE(std::holds_alternative<wire::Refused>(refused));
    CHECK(std::get<wire::Refused>(refused).reason == wire::kRefusedHeldByOther);
    CHECK(std::get<wire::Refused>(refused).tuples == std::vector<wire::Tuple>{tuple(3)});
    CHECK(server.router().size() == 4);
    CHECK(server.stats().registrations_refused == 1);
    // The older replayer is refused too, silently (a Refused would be an unknown type to it):
    // the Ping's echo is the next thing it reads.
    c.send_blocking(wire::Register{{tuple(1)}}, kTimeout);
    c.send_blocking(wire::Ping{7}, kTimeout);
    const wire::Message echo = step_for_message(server, c);
    REQUIRE(std::holds_alternative<wire::Ping>(echo));
    CHECK(server.stats().registrations_refused == 2);
    a.send_blocking(wire::Unregister{{tuple(2), tuple(4)}}, kTimeout);  // 4 is not A's
    REQUIRE(step_until(server, [&] { return server.router().size() == 3; }));

    wire::Report rep;
    const SteadyTime now = std::chrono::steady_clock::now();
    for (uint16_t p = 1; p <= 4; ++p) {
        rep.tuple = tuple(p);
        rep.seq = p;
        server.submit(rep, now);
    }
    server.flush();
    auto seqs_of = [&](os::TcpConnection& conn) {
        const wire::Message m = step_for_message(server, conn);
        REQUIRE(std::holds_alternative<wire::Reports>(m));
        std::vector<uint32_t> seqs;
        for (const auto& r : std::get<wire::Reports>(m).reports) {
            seqs.push_back(r.seq);
        }
        return seqs;
    };
    CHECK(seqs_of(a) == std::vector<uint32_t>{1, 3});  // A keeps what it holds
    CHECK(seqs_of(*b) == std::vector<uint32_t>{4});
    CHECK(server.stats().unroutable == 1);  // 2: unregistered

    // A unregisters 3: now B may have it.
    a.send_blocking(wire::Unregister{{tuple(3)}}, kTimeout);
    REQUIRE(step_until(server, [&] { return server.router().size() == 2; }));
    b->send_blocking(wire::Register{{tuple(3)}}, kTimeout);
    REQUIRE(step_until(server, [&] { return server.router().size() == 3; }));
    CHECK(server.stats().registrations_refused == 2);  // granted, not refused

    // B disconnects: its tuples are released at once, and C may take 4.
    b.reset();
    REQUIRE(step_until(server, [&] { return server.router().size() == 1; }));
    CHECK(server.replayers() == 2);
    c.send_blocking(wire::Register{{tuple(4)}}, kTimeout);
    REQUIRE(step_until(server, [&] { return server.router().size() == 2; }));
    CHECK(server.stats().registrations_refused == 2);
    rep.tuple = tuple(4);
    rep.seq = 44;
    server.submit(rep, now);
    server.flush();
    CHECK(seqs_of(c) == std::vector<uint32_t>{44});
}

TEST_CASE("a replayer that asks for payloads gets them whole, the others the first 64 bytes",
          "[intercept]") {
    ReportServer server(loopback_options(), nullptr);
    auto a = connect_with_hello(server.local_endpoint(), "bodies", wire::kFeaturePayload);
    auto b = connect_with_hello(server.local_endpoint(), "heads");
    const wire::Message ack_a = step_for_message(server, a);
    const wire::Message ack_b = step_for_message(server, b);
    REQUIRE(std::holds_alternative<wire::HelloAck>(ack_a));
    REQUIRE(std::holds_alternative<wire::HelloAck>(ack_b));
    CHECK(std::get<wire::HelloAck>(ack_a).features == wire::kFeaturePayload);
    CHECK(std::get<wire::HelloAck>(ack_b).features == 0);
    a.send_blocking(wire::Register{{tuple(1)}}, kTimeout);
    b.send_blocking(wire::Register{{tuple(2)}}, kTimeout);
    REQUIRE(step_until(server, [&] { return server.router().size() == 2; }));

    // 40 segments of 60 kB (offloaded answers) for each: more than one frame's 1 MiB.
    wire::Report rep;
    rep.ts_ns = 1'000'000'000;
    rep.payload_len = 60'000;
    rep.payload_head.assign(rep.payload_len, 'x');
    const SteadyTime now = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < 40; ++i) {
        rep.seq = i * rep.payload_len;
        rep.tuple = tuple(1);
        server.submit(rep, now);
        rep.tuple = tuple(2);
        server.submit(rep, now);
    }
    server.flush();
    auto collect = [&](os::TcpConnection& c, size_t& frames) {
        std::vector<wire::Report> got;
        while (got.size() < 40) {
            const wire::Message m = step_for_message(server, c);
            REQUIRE(std::holds_alternative<wire::Reports>(m));
            const auto& rs = std::get<wire::Reports>(m);
            CHECK(rs.sent_ns >= rep.ts_ns);  // intercept's clock when the frame was made
            got.insert(got.end(), rs.reports.begin(), rs.reports.end());
            ++frames;
        }
        return got;
    };
    size_t frames_a = 0, frames_b = 0;
    const auto got_a = collect(a, frames_a);
    const auto got_b = collect(b, frames_b);
    REQUIRE(got_a.size() == 40);
    REQUIRE(got_b.size() == 40);
    for (size_t i = 0; i < 40; ++i) {
        CHECK(got_a[i].payload_head == rep.payload_head);
        CHECK(got_b[i].payload_head.size() == wire::kMaxPayloadHead);
        CHECK(got_b[i].payload_len == rep.payload_len);
    }
    CHECK(frames_a >= 3);  // 2.4 MB of payloads: split to keep frames within 1 MiB
    CHECK(frames_b == 1);
    CHECK(server.stats().dropped_slow == 0);
}

TEST_CASE("a replayer's reports leave at most once per coalescing period, the first at once",
          "[intercept]") {
    const auto period = GENERATE(std::chrono::milliseconds(0), std::chrono::milliseconds(80));
    CAPTURE(period.count());
    ServerOptions o = loopback_options();
    o.coalesce = period;
    ReportServer server(o, nullptr);
    auto a = connect_with_hello(server.local_endpoint(), "coalesced");
    REQUIRE(std::holds_alternative<wire::HelloAck>(step_for_message(server, a)));
    a.send_blocking(wire::Register{{tuple(1)}}, kTimeout);
    REQUIRE(step_until(server, [&] { return server.router().size() == 1; }));

    wire::Report rep;
    rep.tuple = tuple(1);
    rep.ts_ns = 1'000'000'000;
    rep.payload_len = 100;
    rep.payload_head.assign(rep.payload_len, 'x');
    const auto submit = [&](uint32_t i) {
        rep.seq = i * 1000;  // not in sequence: never merged
        server.submit(rep, std::chrono::steady_clock::now());
        server.flush_due(std::chrono::steady_clock::now());
    };
    const auto reports_in = [](const wire::Message& m) {
        REQUIRE(std::holds_alternative<wire::Reports>(m));
        return std::get<wire::Reports>(m).reports.size();
    };
    // The first report after a pause leaves at once.
    const auto start = std::chrono::steady_clock::now();
    submit(0);
    CHECK(reports_in(step_for_message(server, a)) == 1);
    // Two more right after it.
    submit(1);
    submit(2);
    if (period.count() == 0) {
        CHECK(reports_in(step_for_message(server, a)) == 1);
        CHECK(reports_in(step_for_message(server, a)) == 1);
    } else {
        // Held: nothing for a while, then both in one frame, a period after the first.
        REQUIRE_FALSE(step_until(
            server, [&] { return poll_message(a).has_value(); }, std::chrono::milliseconds(30)));
        CHECK(reports_in(step_for_message(server, a)) == 2);
        CHECK(std::chrono::steady_clock::now() - start >= period);
    }
    CHECK(server.stats().reported == 3);
    CHECK(server.stats().frames_sent == (period.count() == 0 ? 3u : 2u));
}

TEST_CASE("a replayer that does not read loses reports; the others lose none", "[intercept]") {
    ServerOptions o = loopback_options();
    o.max_queued_bytes = 64 * 1024;
    ReportServer server(o, nullptr);
    auto slow = connect_with_hello(server.local_endpoint(), "slow");
    auto fast = connect_with_hello(server.local_endpoint(), "fast");
    REQUIRE(std::holds_alternative<wire::HelloAck>(step_for_message(server, slow)));
    REQUIRE(std::holds_alternative<wire::HelloAck>(step_for_message(server, fast)));
    slow.send_blocking(wire::Register{{tuple(1)}}, kTimeout);
    fast.send_blocking(wire::Register{{tuple(2)}}, kTimeout);
    REQUIRE(step_until(server, [&] { return server.router().size() == 2; }));

    // 200k reports of 104 bytes (20 MB) for `slow`, which never reads again: far more than
    // socket buffers and its 64 KiB queue hold. Every call returns at once.
    wire::Report big;
    big.tuple = tuple(1);
    big.payload_head.assign(wire::kMaxPayloadHead, 'z');
    big.payload_len = wire::kMaxPayloadHead;
    wire::Report small;
    small.tuple = tuple(2);
    constexpr int kRounds = 200;
    constexpr int kPerRound = 1000;
    size_t fast_reports = 0;
    for (int round = 0; round < kRounds; ++round) {
        const SteadyTime now = std::chrono::steady_clock::now();
        for (int i = 0; i < kPerRound; ++i) {
            server.submit(big, now);
        }
        small.seq = static_cast<uint32_t>(round);
        server.submit(small, now);
        server.flush();
        server.step(0);
        while (auto m = poll_message(fast)) {
            REQUIRE(std::holds_alternative<wire::Reports>(*m));
            fast_reports += std::get<wire::Reports>(*m).reports.size();
        }
    }
    REQUIRE(step_until(server, [&] {
        while (auto m = poll_message(fast)) {
            fast_reports += std::get<wire::Reports>(*m).reports.size();
        }
        return fast_reports == kRounds;
    }));
    const ServerStats s = server.stats();
    CHECK(s.dropped_slow > 0);
    CHECK(s.reported + s.dropped_slow == size_t{kRounds} * (kPerRound + 1));
    CHECK(server.replayers() == 2);  // slow but alive: kept, just dropped
}

TEST_CASE("a connection that never says Hello is closed", "[intercept]") {
    ServerOptions o = loopback_options();
    o.hello_timeout = std::chrono::milliseconds(50);
    ReportServer server(o, nullptr);
    auto c = os::TcpConnection::connect(server.local_endpoint(), kTimeout);
    const wire::Message m = step_for_message(server, c);
    REQUIRE(std::holds_alternative<wire::ErrorMsg>(m));
    CHECK(std::get<wire::ErrorMsg>(m).reason == "no Hello received in time");
    step_until_closed(server, c);
    CHECK(server.stats().idle_closed == 1);
}

TEST_CASE("with --auth-key, a replayer is accepted only after proving the key",
          "[intercept][door]") {
    const std::vector<uint8_t> key(32, 'k');
    ServerOptions o = loopback_options();
    o.auth_key = key;
    ReportServer server(o, nullptr);
    const wire::Hello hello{wire::kProtocolVersion, "keyed",
                            wire::kFeatureAuth | wire::kFeatureRefusals};
    auto challenged = [&](os::TcpConnection& c) {
        c.send_blocking(hello, kTimeout);
        const wire::Message m = step_for_message(server, c);
        REQUIRE(std::holds_alternative<wire::Challenge>(m));
        CHECK(std::get<wire::Challenge>(m).algorithm == wire::kAuthHmacSha256);
        return std::get<wire::Challenge>(m);
    };
    SECTION("the right key") {
        auto c = os::TcpConnection::connect(server.local_endpoint(), kTimeout);
        const wire::Challenge ch = challenged(c);
        CHECK(server.replayers() == 0);  // not before the proof
        c.send_blocking(os::auth_proof(key, ch, hello), kTimeout);
        const wire::Message ack = step_for_message(server, c);
        REQUIRE(std::holds_alternative<wire::HelloAck>(ack));
        CHECK(std::get<wire::HelloAck>(ack).features ==
              (wire::kFeatureAuth | wire::kFeatureRefusals));
        CHECK(server.replayers() == 1);
        CHECK(server.stats().auth_failed == 0);
        c.send_blocking(wire::Register{{tuple(1)}}, kTimeout);
        REQUIRE(step_until(server, [&] { return server.router().size() == 1; }));
    }
    SECTION("a wrong key") {
        auto c = os::TcpConnection::connect(server.local_endpoint(), kTimeout);
        const wire::Challenge ch = challenged(c);
        c.send_blocking(os::auth_proof(std::vector<uint8_t>(32, 'x'), ch, hello), kTimeout);
        const wire::Message m = step_for_message(server, c);
        REQUIRE(std::holds_alternative<wire::ErrorMsg>(m));
        CHECK(std::get<wire::ErrorMsg>(m).reason ==
              "authentication failed: the replayer's key is not this intercept's (--auth-key)");
        step_until_closed(server, c);
        CHECK(server.stats().auth_failed == 1);
        CHECK(server.replayers() == 0);
    }
    SECTION("no key: the replayer says so and is counted") {
        auto c = os::TcpConnection::connect(server.local_endpoint(), kTimeout);
        (void)challenged(c);
        c.send_blocking(wire::ErrorMsg{"this replayer has no key"}, kTimeout);
        step_until_closed(server, c);
        CHECK(server.stats().auth_failed == 1);
    }
    SECTION("a Register instead of the proof registers nothing") {
        auto c = os::TcpConnection::connect(server.local_endpoint(), kTimeout);
        (void)challenged(c);
        c.send_blocking(wire::Register{{tuple(1)}}, kTimeout);
        const wire::Message m = step_for_message(server, c);
        REQUIRE(std::holds_alternative<wire::ErrorMsg>(m));
        CHECK(std::get<wire::ErrorMsg>(m).reason == "expected Auth after the Challenge");
        step_until_closed(server, c);
        CHECK(server.router().size() == 0);
    }
    SECTION("an older replayer (no auth feature) is told in words it reads") {
        auto c = connect_with_hello(server.local_endpoint(), "old", wire::kFeaturePayload);
        const wire::Message m = step_for_message(server, c);
        REQUIRE(std::holds_alternative<wire::ErrorMsg>(m));
        CHECK(std::get<wire::ErrorMsg>(m).reason.find("this intercept requires authentication") ==
              0);
        step_until_closed(server, c);
        CHECK(server.stats().auth_failed == 1);
    }
    SECTION("the proof is due within the Hello timeout") {
        ServerOptions quick = o;
        quick.hello_timeout = std::chrono::milliseconds(100);
        ReportServer s2(quick, nullptr);
        auto c = os::TcpConnection::connect(s2.local_endpoint(), kTimeout);
        c.send_blocking(hello, kTimeout);
        REQUIRE(std::holds_alternative<wire::Challenge>(step_for_message(s2, c)));
        const wire::Message m = step_for_message(s2, c);
        REQUIRE(std::holds_alternative<wire::ErrorMsg>(m));
        CHECK(std::get<wire::ErrorMsg>(m).reason ==
              "no Auth (the Challenge's answer) received in time");
    }
}

TEST_CASE("without a key, a replayer that can authenticate is accepted at once",
          "[intercept][door]") {
    ReportServer server(loopback_options(), nullptr);
    auto c = connect_with_hello(server.local_endpoint(), "new", wire::kFeatureAuth);
    const wire::Message m = step_for_message(server, c);
    REQUIRE(std::holds_alternative<wire::HelloAck>(m));
    CHECK(server.replayers() == 1);
}

TEST_CASE(
    "merging replayers get the segments of one answer in sequence as one report, with the "
    "head or with every payload byte",
    "[intercept]") {
    using namespace net::tcp_flags;
    ReportServer server(loopback_options(), nullptr);
    auto a = connect_with_hello(server.local_endpoint(), "heads", wire::kFeatureMerge);
    auto b = connect_with_hello(server.local_endpoint(), "bodies",
                                wire::kFeaturePayload | wire::kFeatureMerge);
    const wire::Message ack_a = step_for_message(server, a);
    const wire::Message ack_b = step_for_message(server, b);
    REQUIRE(std::holds_alternative<wire::HelloAck>(ack_a));
    REQUIRE(std::holds_alternative<wire::HelloAck>(ack_b));
    CHECK(std::get<wire::HelloAck>(ack_a).features == wire::kFeatureMerge);
    CHECK(std::get<wire::HelloAck>(ack_b).features ==
          (wire::kFeaturePayload | wire::kFeatureMerge));
    a.send_blocking(wire::Register{{tuple(1), tuple(3), tuple(4)}}, kTimeout);
    b.send_blocking(wire::Register{{tuple(2), tuple(5), tuple(6)}}, kTimeout);
    REQUIRE(step_until(server, [&] { return server.router().size() == 6; }));

    // Each payload byte tells its sequence number: the merged payloads can be checked whole.
    auto bytes_at = [](uint32_t seq, size_t n) {
        std::vector<uint8_t> v(n);
        for (size_t i = 0; i < n; ++i) {
            v[i] = static_cast<uint8_t>('a' + (seq + i) % 26);
        }
        return v;
    };
    const SteadyTime now = std::chrono::steady_clock::now();
    auto segment = [&](const wire::Tuple& t, uint32_t seq, uint32_t len, uint8_t flags, uint64_t ts,
                       size_t captured = SIZE_MAX) {
        wire::Report r;
        r.tuple = t;
        r.ts_ns = ts;
        r.seq = seq;
        r.ack = 100 + seq;
        r.window = static_cast<uint16_t>(seq);
        r.flags = flags;
        r.payload_len = len;
        r.payload_head = bytes_at(seq, std::min<size_t>(len, captured));
        server.submit(r, now);
    };
    // Per tuple: a SYN-ACK, then segments in sequence with another tuple's between, a repeated
    // segment, a gap, and a FIN on the last one.
    for (const wire::Tuple& t : {tuple(1), tuple(2)}) {
        segment(t, 0, 0, kSyn | kAck, 1000);
        segment(t, 1, 100, kAck, 2000);
        segment(t, 101, 100, kAck | kPsh, 2500);
        segment(t == tuple(1) ? tuple(3) : tuple(6), 7, 10, kAck, 2600);  // another tuple's
        segment(t, 201, 100, kAck, 3000);
        segment(t, 301, 100, kAck, 3500);
        segment(t, 301, 100, kAck, 3600);  // repeated
        segment(t, 501, 100, kAck, 4000);  // after a gap
        segment(t, 601, 50, kAck | kFin, 4200);
        segment(t, 651, 10, kAck, 4300);  // after the FIN: never merged into it
    }
    segment(tuple(4), 1, 10, kAck, 5000);  // a short first segment: the head fills up to 64
    segment(tuple(4), 11, 100, kAck, 5100);
    segment(tuple(5), 1, 40'000, kAck, 6000);  // payloads: never past 65,535 bytes in one
    segment(tuple(5), 40'001, 40'000, kAck, 6100);
    segment(tuple(5), 80'001, 1000, kAck, 6200, 500);  // cut by the snap length: alone
    segment(tuple(5), 81'001, 1000, kAck, 6300);
    server.flush();
    auto collect = [&](os::TcpConnection& c, size_t n) {
        std::vector<wire::Report> got;
        while (got.size() < n) {
            const wire::Message m = step_for_message(server, c);
            REQUIRE(std::holds_alternative<wire::Reports>(m));
            const auto& rs = std::get<wire::Reports>(m);
            got.insert(got.end(), rs.reports.begin(), rs.reports.end());
        }
        return got;
    };
    auto of = [](const std::vector<wire::Report>& all, const wire::Tuple& t) {
        std::vector<wire::Report> v;
        for (const wire::Report& r : all) {
            if (r.tuple == t) {
                v.push_back(r);
            }
        }
        return v;
    };
    // The same reports for both, with heads for one and whole payloads for the other.
    const auto got_a = collect(a, 6 + 1 + 1);
    const auto got_b = collect(b, 6 + 1 + 4);
    for (const auto& [one, payloads] :
         {std::pair{of(got_a, tuple(1)), false}, std::pair{of(got_b, tuple(2)), true}}) {
        CAPTURE(payloads);
        REQUIRE(one.size() == 6);
        auto head = [&](uint32_t seq, uint32_t len) { return bytes_at(seq, payloads ? len : 64); };
        CHECK(one[0].flags == (kSyn | kAck));  // the SYN-ACK alone
        CHECK(one[1].seq == 1);  // 1..101..: merged until the other tuple's segment came between
        CHECK(one[1].payload_len == 200);
        CHECK(one[1].flags == (kAck | kPsh));
        CHECK(one[1].ack == 201);  // the later segment's acknowledgement and window
        CHECK(one[1].window == 101);
        CHECK(one[1].ts_ns == 2000);
        CHECK(one[1].span_ns == 500);
        CHECK(one[1].payload_head == head(1, 200));
        CHECK(one[2].seq == 201);
        CHECK(one[2].payload_len == 200);
        CHECK(one[2].span_ns == 500);
        CHECK(one[2].payload_head == head(201, 200));
        CHECK(one[3].seq == 301);  // repeated: its own report
        CHECK(one[3].span_ns == 0);
        CHECK(one[4].seq == 501);  // after the gap: a new report, the FIN merged into it
        CHECK(one[4].payload_len == 150);
        CHECK((one[4].flags & kFin) != 0);
        CHECK(one[4].span_ns == 200);
        CHECK(one[4].payload_head == head(501, 150));
        CHECK(one[5].seq == 651);
    }
    const auto four = of(got_a, tuple(4));
    REQUIRE(four.size() == 1);
    CHECK(four[0].payload_len == 110);
    CHECK(four[0].payload_head == bytes_at(1, 64));
    const auto five = of(got_b, tuple(5));
    REQUIRE(five.size() == 4);
    CHECK(five[0].payload_len == 40'000);
    CHECK(five[1].payload_len == 40'000);
    CHECK(five[1].payload_head == bytes_at(40'001, 40'000));
    CHECK(five[2].payload_head.size() == 500);  // the cut one, alone
    CHECK(five[3].seq == 81'001);
    CHECK(server.stats().reports_merged == 3 + 3 + 1);
    CHECK(server.stats().dropped_slow == 0);
}
