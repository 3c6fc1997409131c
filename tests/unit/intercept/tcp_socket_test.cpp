// os::TcpListener / TcpConnection / Epoll on loopback: the pieces intercept and the replayer's
// intercept client share. No root needed.
#include "common/os/tcp_socket.h"

#include <chrono>
#include <optional>
#include <sys/socket.h>
#include <thread>

#include <catch2/catch.hpp>

#include "common/base/error.h"
#include "common/os/epoll.h"

namespace {

using namespace tcpr;
using namespace std::chrono_literals;

net::Endpoint loopback(uint16_t port = 0) {
    return net::Endpoint{net::IpAddress::v4(0x7f000001), port};
}

// Accepts one connection, waiting at most 5 s.
os::TcpConnection accept_one(os::TcpListener& l) {
    os::Epoll ep = os::Epoll::create();
    ep.add(l.fd(), os::Epoll::kReadable, 7);
    std::vector<os::Epoll::Event> evs;
    for (int i = 0; i < 500; ++i) {
        os::TcpListener::Accepted a = l.accept();
        if (a.connection) {
            return std::move(*a.connection);
        }
        REQUIRE(a.error == 0);
        ep.wait(evs, 10);
    }
    FAIL("no connection to accept");
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("a listener on port 0 gets a real port; a second one on it is refused", "[os]") {
    auto l = os::TcpListener::listen(loopback());
    const uint16_t port = l.local_endpoint().port;
    CHECK(port != 0);
    CHECK(l.local_endpoint().addr == net::IpAddress::v4(0x7f000001));
    try {
        (void)os::TcpListener::listen(loopback(port));
        FAIL("a second listener on the same port was allowed");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) ==
              "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
        CHECK(e.kind() == ErrorKind::Network);
    }
}

TEST_CASE("connecting where nobody listens fails with one clear line", "[os]") {
    uint16_t port = 0;
    {
        auto l = os::TcpListener::listen(loopback());
        port = l.local_endpoint().port;
    }  // closed: nothing listens there now
    try {
        (void)os::TcpConnection::connect(loopback(port), 2000ms);
        FAIL("connected to a closed port");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) ==
              "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
    }
}

TEST_CASE("frames cross a connection both ways and the peer's address is known", "[os]") {
    auto l = os::TcpListener::listen(loopback());
    auto client = os::TcpConnection::connect(l.local_endpoint(), 2000ms);
    auto server = accept_one(l);
    CHECK(server.peer().addr == net::IpAddress::v4(0x7f000001));
    CHECK(server.peer().port == client.local_endpoint().port);

    client.send_blocking(wire::Ping{1}, 2000ms);
    client.send_blocking(wire::Hello{wire::kProtocolVersion, "x"}, 2000ms);
    auto m = server.receive_blocking(2000ms);
    REQUIRE(m);
    CHECK(std::get<wire::Ping>(*m).nonce == 1);
    m = server.receive_blocking(2000ms);
    REQUIRE(m);
    CHECK(std::get<wire::Hello>(*m).name == "x");
    CHECK_FALSE(server.receive_blocking(20ms));  // nothing more: timeout, not an error

    // Messages sent before a close are delivered, then the close is an error.
    server.send_blocking(wire::ErrorMsg{"bye"}, 2000ms);
    server.shutdown_write();
    m = client.receive_blocking(2000ms);
    REQUIRE(m);
    CHECK(std::get<wire::ErrorMsg>(*m).reason == "bye");
    CHECK_THROWS_WITH(client.receive_blocking(2000ms),
                      Catch::Contains("lost: connection closed by peer"));
}

TEST_CASE("queued output is bounded, but an empty queue takes any one frame", "[os]") {
    auto l = os::TcpListener::listen(loopback());
    auto client = os::TcpConnection::connect(l.local_endpoint(), 2000ms);
    auto server = accept_one(l);
    server.set_max_queued_bytes(100);
    const std::vector<uint8_t> big(300, 0xab);
    CHECK(server.queue(big));                     // empty queue: accepted whatever its size
    CHECK_FALSE(server.queue({big.data(), 10}));  // now over the bound: refused
    CHECK(server.queued_bytes() == 300);
    CHECK_FALSE(server.send(wire::Ping{2}));
    CHECK(server.flush() == os::IoStatus::Ok);
    CHECK(server.queued_bytes() == 0);
    CHECK(server.send(wire::Ping{3}));
    CHECK(server.send(wire::Ping{4}));  // 2 x 16 bytes: within 100
    CHECK(server.queued_bytes() == 32);
}

TEST_CASE("a peer that stops reading makes flush report WouldBlock, never block", "[os]") {
    auto l = os::TcpListener::listen(loopback());
    auto client = os::TcpConnection::connect(l.local_endpoint(), 2000ms);
    auto server = accept_one(l);
    server.set_max_queued_bytes(64u << 20);
    const std::vector<uint8_t> chunk(1u << 20, 0x55);
    os::IoStatus st = os::IoStatus::Ok;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 64 && st == os::IoStatus::Ok; ++i) {
        REQUIRE(server.queue(chunk));
        st = server.flush();
    }
    CHECK(st == os::IoStatus::WouldBlock);
    CHECK(server.wants_write());
    CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("epoll reports readable and writable sockets by their tags", "[os]") {
    auto l = os::TcpListener::listen(loopback());
    auto client = os::TcpConnection::connect(l.local_endpoint(), 2000ms);
    auto server = accept_one(l);
    os::Epoll ep = os::Epoll::create();
    ep.add(server.fd(), os::Epoll::kReadable, 41);
    ep.add(client.fd(), os::Epoll::kWritable, 42);
    std::vector<os::Epoll::Event> evs;
    ep.wait(evs, 1000);
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].tag == 42);
    CHECK(evs[0].writable);

    ep.modify(client.fd(), os::Epoll::kReadable, 42);
    client.send_blocking(wire::Ping{9}, 2000ms);
    ep.wait(evs, 1000);
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].tag == 41);
    CHECK(evs[0].readable);
    ep.remove(server.fd());
    ep.wait(evs, 0);
    CHECK(evs.empty());
}

TEST_CASE("a reader is woken once a frame can be whole, not for each part of it", "[os]") {
    auto l = os::TcpListener::listen(loopback());
    auto client = os::TcpConnection::connect(l.local_endpoint(), 2000ms);
    auto server = accept_one(l);
    // A 195 kB frame (a Register of 15,000 IPv4 tuples), written raw in parts.
    wire::Register reg;
    for (uint32_t i = 0; i < 15'000; ++i) {
        reg.tuples.push_back(wire::Tuple{net::Endpoint{net::IpAddress::v4(0x0a000000 + i), 40000},
                                         net::Endpoint{net::IpAddress::v4(0x0a0000fe), 80}});
    }
    const std::vector<uint8_t> frame = wire::encode(reg);
    REQUIRE(frame.size() > 190'000);
    const auto write_raw = [&](size_t from, size_t to) {
        size_t at = from;
        while (at < to) {
            const ssize_t n = ::send(client.fd(), frame.data() + at, to - at, MSG_NOSIGNAL);
            REQUIRE(n > 0);
            at += static_cast<size_t>(n);
        }
    };
    os::Epoll ep = os::Epoll::create();
    ep.add(server.fd(), os::Epoll::kReadable, 5);
    std::vector<os::Epoll::Event> evs;

    write_raw(0, 5);  // part of the header
    ep.wait(evs, 1000);
    REQUIRE(evs.size() == 1);
    REQUIRE(server.receive() == os::IoStatus::Ok);
    CHECK(server.next_message().status == wire::DecodeStatus::NeedMore);
    server.wake_on_whole_frame();
    int lowat = 0;
    socklen_t len = sizeof lowat;
    REQUIRE(::getsockopt(server.fd(), SOL_SOCKET, SO_RCVLOWAT, &lowat, &len) == 0);
    CHECK(lowat == 3);  // the rest of the header

    write_raw(5, 1000);
    ep.wait(evs, 1000);
    REQUIRE(evs.size() == 1);
    REQUIRE(server.receive() == os::IoStatus::Ok);
    CHECK(server.next_message().status == wire::DecodeStatus::NeedMore);
    server.wake_on_whole_frame();
    REQUIRE(::getsockopt(server.fd(), SOL_SOCKET, SO_RCVLOWAT, &lowat, &len) == 0);
    CHECK(lowat == static_cast<int>(frame.size() - 1000));

    // Most of the rest: not readable yet.
    write_raw(1000, frame.size() - 10);
    ep.wait(evs, 100);
    CHECK(evs.empty());
    // The last bytes: readable, and the frame is whole.
    write_raw(frame.size() - 10, frame.size());
    ep.wait(evs, 1000);
    REQUIRE(evs.size() == 1);
    REQUIRE(server.receive() == os::IoStatus::Ok);
    const wire::DecodeResult r = server.next_message();
    REQUIRE(r.status == wire::DecodeStatus::Ok);
    CHECK(std::get<wire::Register>(*r.message).tuples.size() == 15'000);
    server.wake_on_whole_frame();
    REQUIRE(::getsockopt(server.fd(), SOL_SOCKET, SO_RCVLOWAT, &lowat, &len) == 0);
    CHECK(lowat == 1);  // between frames

    // A close in the middle of a frame still wakes the reader at once.
    write_raw(0, 100);
    ep.wait(evs, 1000);
    REQUIRE(server.receive() == os::IoStatus::Ok);
    server.wake_on_whole_frame();
    client.shutdown_write();
    ep.wait(evs, 1000);
    REQUIRE(evs.size() == 1);
    CHECK(server.receive() == os::IoStatus::Closed);
}
