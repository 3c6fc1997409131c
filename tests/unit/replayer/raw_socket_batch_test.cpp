// The senders' batching, for real on loopback (root: it fails loudly without): RawSocket and
// PcapInjector (on "lo") queue in send(), flush() hands the batch to the kernel with sendmmsg
// in order, a full batch leaves early, the guard still refuses. A packet socket on loopback
// sees every frame as it leaves.
#include <algorithm>
#include <cerrno>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "common/net/packet_builder.h"
#include "common/net/packet_view.h"
#include "common/os/pcap_injector.h"
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

// What left on loopback, seen by a packet socket bound to "lo" (outgoing frames only): the
// sequence numbers of the packets from `src` to `dst` so far.
std::vector<uint32_t> drain(int fd, const net::Endpoint& src, const net::Endpoint& dst) {
    std::vector<uint32_t> seqs;
    std::vector<uint8_t> buf(70000);
    for (int i = 0; i < 100000; ++i) {
        sockaddr_ll from{};
        socklen_t len = sizeof from;
        const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                                     reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) {
            break;
        }
        if (from.sll_pkttype != PACKET_OUTGOING) {
            continue;  // the same frame as loopback receives it
        }
        const auto d = net::decode(net::LinkType::Ethernet,
                                   std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
        if (d.ok() && d.packet().src == src.addr && d.packet().sport == src.port &&
            d.packet().dst == dst.addr && d.packet().dport == dst.port) {
            seqs.push_back(d.packet().seq);
        }
    }
    return seqs;
}

UniqueFd watch_loopback() {
    UniqueFd fd = UniqueFd::adopt(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
    REQUIRE(fd.get() >= 0);
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_protocol = htons(ETH_P_ALL);
    at.sll_ifindex = static_cast<int>(if_nametoindex("lo"));
    REQUIRE(at.sll_ifindex > 0);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    const int big = 8 << 20;
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    return fd;
}

std::vector<uint32_t> iota(uint32_t first, uint32_t count) {
    std::vector<uint32_t> v(count);
    for (uint32_t i = 0; i < count; ++i) {
        v[i] = first + i;
    }
    return v;
}

// Runs the batching checks on `make(dst)`'s sink.
template <typename Make>
void check_batching(Make make) {
    INFO("needs root (a raw socket): run the tests as root");
    REQUIRE(::geteuid() == 0);
    ClosedPort closed;
    const net::Endpoint dst = ep("127.0.0.1", closed.port);
    const net::Endpoint src = ep("127.0.0.1", static_cast<uint16_t>(20000 + ::getpid() % 20000));
    UniqueFd rx = watch_loopback();
    auto sink = make(dst);

    auto send_seq = [&](uint32_t seq) {
        net::TcpSegmentSpec s;
        s.src = src;
        s.dst = dst;
        s.seq = seq;
        s.ack = 1;
        s.flags = net::tcp_flags::kAck;
        std::vector<uint8_t> p;
        net::build_tcp_packet(s, p);
        return sink.send(p);
    };
    (void)drain(rx.get(), src, dst);

    for (uint32_t i = 0; i < 10; ++i) {
        REQUIRE(send_seq(1000 + i) == net::SendStatus::Sent);
    }
    CHECK(drain(rx.get(), src, dst).empty());  // queued, not sent yet
    net::SinkLosses lost = sink.flush();
    CHECK(lost.would_block + lost.failed == 0);
    CHECK(drain(rx.get(), src, dst) == iota(1000, 10));

    // More than one batch: full batches leave at once, the rest at flush().
    const uint32_t batch = static_cast<uint32_t>(SendBatch::kMax);
    const uint32_t n = 2 * batch + 22;
    for (uint32_t i = 0; i < n; ++i) {
        REQUIRE(send_seq(5000 + i) == net::SendStatus::Sent);
    }
    CHECK(drain(rx.get(), src, dst) == iota(5000, 2 * batch));
    lost = sink.flush();
    CHECK(lost.would_block + lost.failed == 0);
    CHECK(drain(rx.get(), src, dst) == iota(5000 + 2 * batch, 22));
    CHECK(sink.flush().bytes == 0);  // nothing left

    // The guard still refuses at send(), before anything is queued.
    net::TcpSegmentSpec other;
    other.src = src;
    other.dst = ep("127.0.0.1", static_cast<uint16_t>(closed.port ^ 1));
    other.flags = net::tcp_flags::kAck;
    std::vector<uint8_t> p;
    net::build_tcp_packet(other, p);
    CHECK(sink.send(p) == net::SendStatus::Refused);
    CHECK(sink.refused() == 1);
    CHECK(sink.flush().bytes == 0);
}

}  // namespace

TEST_CASE("the raw socket sends its queued packets in order and in batches", "[replay][raw]") {
    check_batching([](const net::Endpoint& dst) { return RawSocket::open(dst); });
}

TEST_CASE("the link-layer injector sends its queued frames in order and in batches",
          "[replay][raw]") {
    check_batching([](const net::Endpoint& dst) { return PcapInjector::open("lo", dst, ""); });
}

}  // namespace tcpr::os
