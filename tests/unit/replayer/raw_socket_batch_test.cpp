// RawSocket's batching, for real on loopback (root: it fails loudly without): send() queues,
// flush() hands the batch to the kernel with sendmmsg in order, a full batch leaves early. A
// raw TCP socket on loopback sees every packet as the kernel delivers it.
#include <algorithm>
#include <cerrno>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "common/net/packet_builder.h"
#include "common/net/packet_view.h"
#include "common/os/raw_socket.h"
#include "common/os/unique_fd.h"

namespace tcpr::os {
namespace {

net::Endpoint ep(const char* addr, uint16_t port) {
    return net::Endpoint{*net::IpAddress::parse(addr), port};
}

// A TCP port on loopback that nothing listens on, held for the test's duration.
struct ClosedPort {
    UniqueFd fd = UniqueFd::adopt(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    uint16_t port = 0;
    ClosedPort() {
        REQUIRE(fd.get() >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port = ntohs(a.sin_port);
    }
};

// Sequence numbers of the packets from `src` to `dst` delivered so far.
std::vector<uint32_t> drain(int fd, const net::Endpoint& src, const net::Endpoint& dst) {
    std::vector<uint32_t> seqs;
    std::vector<uint8_t> buf(70000);
    for (int i = 0; i < 100000; ++i) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n <= 0) {
            break;
        }
        const auto d = net::decode(net::LinkType::Raw,
                                   std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
        if (d.ok() && d.packet().src == src.addr && d.packet().sport == src.port &&
            d.packet().dst == dst.addr && d.packet().dport == dst.port) {
            seqs.push_back(d.packet().seq);
        }
    }
    return seqs;
}

std::vector<uint32_t> iota(uint32_t first, uint32_t count) {
    std::vector<uint32_t> v(count);
    for (uint32_t i = 0; i < count; ++i) {
        v[i] = first + i;
    }
    return v;
}

}  // namespace

TEST_CASE("the raw socket sends its queued packets in order, in batches", "[replay][raw]") {
    INFO("needs root (a raw socket): run the tests as root");
    REQUIRE(::geteuid() == 0);
    ClosedPort closed;
    const net::Endpoint dst = ep("127.0.0.1", closed.port);
    const net::Endpoint src = ep("127.0.0.1", static_cast<uint16_t>(20000 + ::getpid() % 20000));
    UniqueFd rx = UniqueFd::adopt(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP));
    REQUIRE(rx.get() >= 0);
    const int big = 8 << 20;
    (void)::setsockopt(rx.get(), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    RawSocket raw = RawSocket::open(dst);

    auto send_seq = [&](uint32_t seq) {
        net::TcpSegmentSpec s;
        s.src = src;
        s.dst = dst;
        s.seq = seq;
        s.ack = 1;
        s.flags = net::tcp_flags::kAck;
        std::vector<uint8_t> p;
        net::build_tcp_packet(s, p);
        return raw.send(p);
    };
    (void)drain(rx.get(), src, dst);

    for (uint32_t i = 0; i < 10; ++i) {
        REQUIRE(send_seq(1000 + i) == net::SendStatus::Sent);
    }
    CHECK(drain(rx.get(), src, dst).empty());  // queued, not sent yet
    net::SinkLosses lost = raw.flush();
    CHECK(lost.would_block + lost.failed == 0);
    CHECK(drain(rx.get(), src, dst) == iota(1000, 10));

    // More than one batch: full batches leave at once, the rest at flush().
    const uint32_t n = 2 * RawSocket::kBatch + 22;
    for (uint32_t i = 0; i < n; ++i) {
        REQUIRE(send_seq(5000 + i) == net::SendStatus::Sent);
    }
    const auto early = drain(rx.get(), src, dst);
    CHECK(early == iota(5000, 2 * RawSocket::kBatch));
    lost = raw.flush();
    CHECK(lost.would_block + lost.failed == 0);
    CHECK(drain(rx.get(), src, dst) == iota(5000 + 2 * RawSocket::kBatch, 22));
    CHECK(raw.flush().bytes == 0);  // nothing left

    // The guard still refuses at send(), before anything is queued.
    net::TcpSegmentSpec other;
    other.src = src;
    other.dst = ep("127.0.0.1", static_cast<uint16_t>(closed.port ^ 1));
    other.flags = net::tcp_flags::kAck;
    std::vector<uint8_t> p;
    net::build_tcp_packet(other, p);
    CHECK(raw.send(p) == net::SendStatus::Refused);
    CHECK(raw.refused() == 1);
}

}  // namespace tcpr::os
