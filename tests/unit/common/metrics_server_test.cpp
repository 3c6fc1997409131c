#include "common/os/metrics_server.h"

#include <cerrno>
#include <chrono>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "common/base/error.h"
#include "common/os/epoll.h"
#include "common/os/sockaddr.h"
#include "common/os/unique_fd.h"

using namespace std::chrono_literals;
using tcpr::os::Epoll;
using tcpr::os::MetricsServer;
using tcpr::os::MetricsServerOptions;
using tcpr::os::UniqueFd;

namespace {

const tcpr::net::Endpoint kLoopback{tcpr::net::IpAddress::v4(0x7f000001), 0};

// The server on its own epoll loop, pumped by the test between its client's steps.
struct Loop {
    explicit Loop(MetricsServerOptions options = {})
        : server(
              kLoopback,
              [this] {
                  ++renders;
                  return std::string("# HELP t_total T\n# TYPE t_total counter\nt_total ") +
                         std::to_string(renders) + "\n";
              },
              options) {
        server.attach(epoll, 8);
    }
    void pump(std::chrono::milliseconds for_at_most = 10ms) {
        epoll.wait(events, static_cast<int>(for_at_most.count()));
        const auto now = std::chrono::steady_clock::now();
        for (const auto& e : events) {
            REQUIRE(server.owns(e.tag));
            server.on_event(e, now);
        }
        server.on_timer(now);
    }

    Epoll epoll = Epoll::create();
    int renders = 0;
    MetricsServer server;
    std::vector<Epoll::Event> events;
};

UniqueFd connect_to(const tcpr::net::Endpoint& at) {
    sockaddr_storage ss{};
    const socklen_t len = tcpr::os::to_sockaddr(at, ss);
    UniqueFd fd = UniqueFd::adopt(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) == 0);
    return fd;
}

// Reads what the server sends until it closes (pumping the loop meanwhile); "" on timeout.
std::string read_all(Loop& loop, int fd, std::chrono::milliseconds limit = 3000ms) {
    std::string got;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        loop.pump(5ms);
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            got.append(buf, static_cast<size_t>(n));
        } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            return got;
        }
    }
    FAIL("the server did not close the connection; got: " << got);
    return got;
}

std::string exchange(Loop& loop, const std::string& request) {
    UniqueFd fd = connect_to(loop.server.local_endpoint());
    REQUIRE(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
    ::shutdown(fd.get(), SHUT_WR);
    return read_all(loop, fd.get());
}

}  // namespace

TEST_CASE("GET /metrics answers 200 with the text format and closes", "[metrics][http]") {
    Loop loop;
    const std::string got = exchange(loop, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(got.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
          std::string::npos);
    CHECK(got.find("Connection: close\r\n") != std::string::npos);
    CHECK(got.substr(got.find("\r\n\r\n") + 4) ==
          "# HELP t_total T\n# TYPE t_total counter\nt_total 1\n");
    CHECK(loop.renders == 1);
    // Rendered again at each scrape: the value moves.
    CHECK(exchange(loop, "GET /metrics HTTP/1.0\r\n\r\n").find("t_total 2\n") != std::string::npos);
    CHECK(loop.server.stats().scrapes == 2);
    CHECK(loop.server.clients() == 0);
}

TEST_CASE("another path is 404, another method 405, garbage 400", "[metrics][http]") {
    Loop loop;
    CHECK(exchange(loop, "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
    CHECK(exchange(loop, "DELETE /metrics HTTP/1.1\r\n\r\n")
              .rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
    CHECK(exchange(loop, "\x01\x02\x03 garbage\r\n\r\n").rfind("HTTP/1.1 400 Bad Request\r\n", 0) ==
          0);
    CHECK(exchange(loop, "GET /metrics\r\n\r\n").rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    CHECK(loop.renders == 0);
    CHECK(loop.server.stats().bad_requests == 2);
    CHECK(loop.server.stats().not_found == 2);
}

TEST_CASE("a request larger than the limit is refused with 431 and closed", "[metrics][http]") {
    MetricsServerOptions o;
    o.max_request_bytes = 1024;
    Loop loop(o);
    const std::string big = "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(20000, 'a');
    const std::string got = exchange(loop, big);
    CHECK(got.rfind("HTTP/1.1 431 ", 0) == 0);
    CHECK(loop.renders == 0);
}

TEST_CASE("concurrent clients are bounded; idle ones are closed at the timeout",
          "[metrics][http]") {
    MetricsServerOptions o;
    o.max_clients = 2;
    o.timeout = 300ms;
    Loop loop(o);
    UniqueFd idle1 = connect_to(loop.server.local_endpoint());
    UniqueFd idle2 = connect_to(loop.server.local_endpoint());
    for (int i = 0; i < 10 && loop.server.clients() < 2; ++i) {
        loop.pump();
    }
    REQUIRE(loop.server.clients() == 2);
    // A third connection is answered 503 and closed at once.
    // (It sends nothing: closing a connection with unread bytes would reset it.)
    UniqueFd third = connect_to(loop.server.local_endpoint());
    CHECK(read_all(loop, third.get()).rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
    CHECK(loop.server.stats().busy == 1);
    // The silent ones are closed at the timeout (they read end of stream), freeing the slots.
    CHECK(read_all(loop, idle1.get()).empty());
    CHECK(read_all(loop, idle2.get()).empty());
    CHECK(loop.server.stats().timed_out == 2);
    CHECK(loop.server.clients() == 0);
    CHECK(exchange(loop, "GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
}

TEST_CASE("a request in pieces is answered once whole", "[metrics][http]") {
    Loop loop;
    UniqueFd fd = connect_to(loop.server.local_endpoint());
    for (const std::string part : {"GET /met", "rics HTTP/1.1\r\n", "Host: a\r\n", "\r\n"}) {
        REQUIRE(::send(fd.get(), part.data(), part.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(part.size()));
        loop.pump();
    }
    CHECK(read_all(loop, fd.get()).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
}

TEST_CASE("a port in use is one error line; --metrics values are checked", "[metrics][http]") {
    Loop loop;
    try {
        MetricsServer second(loop.server.local_endpoint(), [] { return std::string(); });
        FAIL("the second server listened on a port in use");
    } catch (const tcpr::Error& e) {
        CHECK(std::string(e.what()) == "cannot listen on " +
                                           loop.server.local_endpoint().to_string() +
                                           ": Address already in use");
    }
    using tcpr::os::parse_metrics_endpoint;
    CHECK(parse_metrics_endpoint("127.0.0.1:9464", "--metrics").to_string() == "127.0.0.1:9464");
    CHECK(parse_metrics_endpoint("[::1]:9464", "--metrics").port == 9464);
    for (const char* bad : {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "localhost:9464",
                            ":9464", "1.2.3:80", ""}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH(parse_metrics_endpoint(bad, "--metrics"),
                          "bad value '" + std::string(bad) +
                              "' for --metrics (expected ADDR:PORT such as 127.0.0.1:9464)");
    }
}
