// Reports built from crafted response packets, and ResponseCapture over an in-memory source.
#include "intercept/response_capture.h"

#include <deque>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/net/packet_view.h"
#include "support/packet_factory.h"

namespace {

using namespace tcpr;
using namespace tcpr::icpt;
using test::Bytes;
using test::TcpSpec;

wire::Report report_of(const Bytes& frame, net::LinkType link = net::LinkType::Ethernet,
                       uint64_t ts = 42) {
    const net::DecodeResult d = net::decode(link, frame);
    REQUIRE(d.ok());
    wire::Report r;
    build_report(d.packet(), frame, ts, r);
    return r;
}

TcpSpec syn_ack(const std::string& server, const std::string& client) {
    TcpSpec s;
    s.src = server;
    s.dst = client;
    s.sport = 80;
    s.dport = 40123;
    s.seq = 0xfffffff0u;
    s.ack = 1001;
    s.flags = net::tcp_flags::kSyn | net::tcp_flags::kAck;
    s.window = 28960;
    s.mss = 1460;
    s.window_scale = 7;
    return s;
}

// An in-memory capture: frames given up front, then Timeout (nothing waiting).
class VectorSource final : public os::PacketSource {
  public:
    VectorSource(uint32_t link, std::vector<Bytes> frames) : link_(link) {
        for (auto& f : frames) {
            frames_.push_back(std::move(f));
        }
    }
    Status next(os::CapturedPacket& out) override {
        if (frames_.empty()) {
            return end_when_empty_ ? Status::End : Status::Timeout;
        }
        current_ = std::move(frames_.front());
        frames_.pop_front();
        out.ts_ns = ++ts_;
        out.orig_len = static_cast<uint32_t>(current_.size());
        out.bytes = current_;
        return Status::Packet;
    }
    uint32_t link_type() const override { return link_; }
    uint32_t snaplen() const override { return 65535; }
    os::CaptureCounters counters() const override { return {}; }
    std::string describe() const override { return "memory"; }
    void end_when_empty() { end_when_empty_ = true; }

  private:
    uint32_t link_;
    std::deque<Bytes> frames_;
    Bytes current_;
    uint64_t ts_ = 0;
    bool end_when_empty_ = false;
};

}  // namespace

TEST_CASE("a SYN-ACK's report carries the tuple from the client's side, MSS and window scale",
          "[intercept]") {
    const wire::Report r =
        report_of(test::make_tcp(syn_ack("10.0.0.2", "10.0.0.1")), net::LinkType::Ethernet, 777);
    CHECK(r.ts_ns == 777);
    CHECK(r.tuple.client.to_string() == "10.0.0.1:40123");
    CHECK(r.tuple.server.to_string() == "10.0.0.2:80");
    CHECK(r.seq == 0xfffffff0u);
    CHECK(r.ack == 1001);
    CHECK(r.window == 28960);
    CHECK(r.flags == (net::tcp_flags::kSyn | net::tcp_flags::kAck));
    CHECK(r.mss == 1460);
    CHECK(r.window_scale == 7);
    CHECK(r.payload_len == 0);
    CHECK(r.payload_head.empty());
}

TEST_CASE("IPv6 responses on a cooked ('any') capture are reported too", "[intercept]") {
    test::LinkSpec sll2;
    sll2.link = net::LinkType::LinuxSll2;
    TcpSpec s = syn_ack("fd00::2", "fd00::1");
    s.window_scale.reset();
    const wire::Report r = report_of(test::make_tcp(s, sll2), net::LinkType::LinuxSll2);
    CHECK(r.tuple.client.to_string() == "[fd00::1]:40123");
    CHECK(r.tuple.server.to_string() == "[fd00::2]:80");
    CHECK(r.mss == 1460);
    CHECK(r.window_scale == 0xff);  // absent
}

TEST_CASE("data segments report their length and the first payload bytes", "[intercept]") {
    TcpSpec s;
    s.src = "10.0.0.2";
    s.dst = "10.0.0.1";
    s.sport = 80;
    s.dport = 40123;
    s.flags = net::tcp_flags::kAck | net::tcp_flags::kPsh;
    s.mss = 1400;  // not a SYN: options other than on SYNs are not MSS announcements
    SECTION("a long payload: all of it (the server cuts it for replayers that want heads)") {
        s.payload = test::to_bytes("HTTP/1.1 200 OK\r\n" + std::string(300, 'x'));
        const wire::Report r = report_of(test::make_tcp(s));
        CHECK(r.payload_len == s.payload.size());
        REQUIRE(r.payload_head == s.payload);
        CHECK(std::string(r.payload_head.begin(), r.payload_head.begin() + 15) ==
              "HTTP/1.1 200 OK");
        CHECK(r.mss == 0);
        CHECK(r.window_scale == 0xff);
    }
    SECTION("a short payload: all of it") {
        s.payload = test::to_bytes("0\r\n\r\n");
        const wire::Report r = report_of(test::make_tcp(s));
        CHECK(r.payload_len == 5);
        CHECK(r.payload_head == s.payload);
    }
    SECTION("a payload cut by the snaplen: its length from the IP header, the captured head") {
        s.payload = test::pattern_bytes(1000, 3);
        Bytes frame = test::make_tcp(s);
        frame.resize(14 + 20 + 24 + 10);  // Ethernet + IPv4 + TCP with MSS option + 10 bytes
        const wire::Report r = report_of(frame);
        CHECK(r.payload_len == 1000);
        CHECK(r.payload_head == Bytes(s.payload.begin(), s.payload.begin() + 10));
    }
}

TEST_CASE("TCP options: NOPs, EOL and damaged lengths", "[intercept]") {
    // NOP, NOP, timestamps (10), MSS, window scale
    const Bytes ok = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 2, 4, 0x05, 0xb4, 3, 3, 9, 0};
    TcpOptions o = parse_tcp_options(ok);
    CHECK(o.mss == 1460);
    CHECK(o.window_scale == 9);

    // EOL ends the list: what follows is padding.
    o = parse_tcp_options(Bytes{0, 2, 4, 0x05, 0xb4});
    CHECK(o.mss == 0);

    // A length below 2 or past the end stops parsing; what came before is kept.
    o = parse_tcp_options(Bytes{2, 4, 0x02, 0x18, 3, 1, 7});
    CHECK(o.mss == 536);
    CHECK(o.window_scale == 0xff);
    o = parse_tcp_options(Bytes{3, 3, 4, 2, 40, 0x05});
    CHECK(o.window_scale == 4);
    CHECK(o.mss == 0);
    o = parse_tcp_options(Bytes{2});
    CHECK(o.mss == 0);
    // Wrong lengths for known kinds are skipped, not misread.
    o = parse_tcp_options(Bytes{2, 6, 1, 2, 3, 4, 3, 4, 5, 6});
    CHECK(o.mss == 0);
    CHECK(o.window_scale == 0xff);
    CHECK(parse_tcp_options({}).mss == 0);
}

TEST_CASE("ResponseCapture reports TCP packets, counts the rest, and bounds its batches",
          "[intercept]") {
    std::vector<Bytes> frames;
    for (int i = 0; i < 10; ++i) {
        TcpSpec s = syn_ack("10.0.0.2", "10.0.0.1");
        s.dport = static_cast<uint16_t>(41000 + i);
        frames.push_back(test::make_tcp(s));
    }
    frames.push_back(test::make_udp({}));
    frames.push_back(test::make_arp());
    Bytes cut = test::make_tcp(syn_ack("10.0.0.2", "10.0.0.1"));
    cut.resize(14 + 20 + 8);  // ends inside the TCP header
    frames.push_back(cut);

    auto src = std::make_unique<VectorSource>(1, std::move(frames));
    VectorSource* raw = src.get();
    ResponseCapture cap(std::move(src));
    CHECK(cap.fd() == -1);

    std::vector<uint16_t> ports;
    auto sink = [&](const wire::Report& r) { ports.push_back(r.tuple.client.port); };
    CHECK(cap.poll(4, std::chrono::seconds(1), sink) == 4);
    CHECK(ports.size() == 4);
    CHECK(cap.poll(100, std::chrono::seconds(1), sink) == 9);  // stops when nothing waits
    CHECK(cap.poll(100, std::chrono::seconds(1), sink) == 0);
    CHECK_FALSE(cap.ended());
    REQUIRE(ports.size() == 10);
    for (int i = 0; i < 10; ++i) {
        CHECK(ports[static_cast<size_t>(i)] == 41000 + i);
    }
    CHECK(cap.packets() == 13);
    CHECK(cap.skips().of(net::SkipReason::NotTcp) == 1);
    CHECK(cap.skips().of(net::SkipReason::NotIp) == 1);
    CHECK(cap.skips().of(net::SkipReason::Truncated) == 1);

    raw->end_when_empty();
    CHECK(cap.poll(100, std::chrono::seconds(1), sink) == 0);
    CHECK(cap.ended());
}
