// Conversation, the one assembler of a captured connection behind archive replay and live
// passthrough, driven segment by segment: out-of-order client bytes, holes the server
// acknowledged, a FIN beyond the bytes seen, the byte limit, a server greeting and the release
// of what no copy needs any more.
#include "replayer/sessions/conversation.h"

#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "common/net/address_parse.h"
#include "support/packet_factory.h"

namespace tcpr::replay {
namespace {

using net::tcp_flags::kAck;
using net::tcp_flags::kFin;
using net::tcp_flags::kSyn;
using test::Bytes;
using test::TcpSpec;

constexpr uint32_t kClientIsn = 1000;
constexpr uint32_t kServerIsn = 5000;
constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

// Feeds crafted segments to one Conversation the way its owners do.
struct Wire {
    Conversation conv = make();
    static Conversation make() {
        Conversation c(*net::parse_endpoint("10.0.0.1:40000"), *net::parse_endpoint("10.0.0.2:80"),
                       1, false, 0);
        c.digest_answers(true);
        return c;
    }
    RequestPolicy policy;
    uint64_t ts = 1;

    Conversation::Step client(uint32_t rel_seq, const std::string& text, uint32_t rel_ack,
                              uint8_t flags = kAck, uint64_t max_bytes = kNoLimit) {
        TcpSpec s;
        s.seq = kClientIsn + 1 + rel_seq;
        s.ack = kServerIsn + 1 + rel_ack;
        s.flags = flags;
        s.payload = test::to_bytes(text);
        return feed(s, true, max_bytes);
    }
    Conversation::Step server(uint32_t rel_seq, const std::string& text, uint32_t rel_ack,
                              bool settle = true) {
        TcpSpec s;
        s.src = "10.0.0.2";
        s.dst = "10.0.0.1";
        s.sport = 80;
        s.dport = 40000;
        s.seq = kServerIsn + 1 + rel_seq;
        s.ack = kClientIsn + 1 + rel_ack;
        s.payload = test::to_bytes(text);
        return feed(s, false, kNoLimit, settle);
    }
    void handshake() {
        TcpSpec syn;
        syn.seq = kClientIsn;
        syn.flags = kSyn;
        syn.mss = 1400;
        feed(syn, true);
        TcpSpec synack;
        synack.src = "10.0.0.2";
        synack.dst = "10.0.0.1";
        synack.sport = 80;
        synack.dport = 40000;
        synack.seq = kServerIsn;
        synack.ack = kClientIsn + 1;
        synack.flags = kSyn | kAck;
        feed(synack, false);
        client(0, "", 0);
    }
    Conversation::Step feed(const TcpSpec& s, bool from_client, uint64_t max_bytes = kNoLimit,
                            bool settle = true) {
        const Bytes frame = test::make_tcp(s);
        const net::DecodeResult r = net::decode(1, frame);
        REQUIRE(r.ok());
        ts += 1'000'000;
        const net::PacketView& v = r.packet();
        if (from_client && v.syn()) {
            conv.client_syn(v, frame, ts);
            return {};
        }
        Conversation::Step step = from_client ? conv.client_segment(policy, v, frame, ts, max_bytes)
                                              : conv.server_segment(v, frame, ts, settle);
        conv.note_window(v, from_client);
        return step;
    }
    std::string published() const {
        const auto b = conv.bytes(0, conv.published_bytes());
        return std::string(b.begin(), b.end());
    }
};

}  // namespace

TEST_CASE("conversation: client bytes are published once contiguous", "[replay][conversation]") {
    Wire w;
    w.handshake();
    CHECK(w.conv.syn_seen());
    CHECK(w.conv.mss() == 1400);
    CHECK(w.conv.client_isn() == kClientIsn);
    // "GET /x HTTP/1.1\r\n\r\n" in three segments, the middle one late.
    w.client(0, "GET /x", 0);
    w.client(11, "/1.1\r\n\r\n", 0);
    CHECK(w.published() == "GET /x");
    CHECK(w.conv.stream_end() == 19);
    CHECK(w.conv.recorded(0).length == 6);
    w.client(6, " HTTP", 0);
    CHECK(w.published() == "GET /x HTTP/1.1\r\n\r\n");
    CHECK(w.conv.request_end() == 1);
    CHECK(w.conv.recorded(0).length == 19);
    // A retransmission changes nothing.
    const Conversation::Step again = w.client(0, "GET /x", 0);
    CHECK_FALSE(again.bytes);
    CHECK(w.conv.missing_bytes() == 0);
}

TEST_CASE("conversation: a hole the server acknowledged is lost by the capture",
          "[replay][conversation]") {
    const bool settle = GENERATE(true, false);
    CAPTURE(settle);
    Wire w;
    w.handshake();
    w.client(0, "GET /", 0);
    w.client(10, "\r\n\r\n", 0);  // bytes 5..9 never captured
    const Conversation::Step s = w.server(0, "", 14, settle);
    if (settle) {
        // Live: published at once, the hole as zeros.
        CHECK(s.missing == 5);
        CHECK(w.conv.published_bytes() == 14);
    } else {
        // Archive: the client's segment may still come; only finish() gives it up.
        CHECK(s.missing == 0);
        CHECK(w.conv.published_bytes() == 5);
        CHECK(w.conv.finish().missing == 5);
    }
    CHECK(w.conv.missing_bytes() == 5);
    CHECK(w.published() == std::string("GET /") + std::string(5, '\0') + "\r\n\r\n");
}

TEST_CASE("conversation: requests, answers and their first lines", "[replay][conversation]") {
    Wire w;
    w.handshake();
    w.client(0, "GET /a HTTP/1.1\r\n\r\n", 0);
    CHECK(w.conv.request(0).status_known == false);
    const std::string a = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const Conversation::Step s = w.server(0, a, 19);
    CHECK(s.answer);
    CHECK(s.status);
    CHECK(w.conv.request(0).status == "HTTP/1.1 200 OK");
    // Each segment is 1 ms after the previous one: the answer began 1 ms after the request.
    CHECK(w.conv.recorded(0).answer_first_us == 1000);
    CHECK(w.conv.recorded(0).answer_last_us == 1000);
    CHECK(w.conv.request(0).head() == a.substr(0, 64));
    // The client read the answer: its next bytes are a new request.
    w.client(19, "GET /b HTTP/1.1\r\n\r\n", static_cast<uint32_t>(a.size()));
    REQUIRE(w.conv.request_end() == 2);
    CHECK(w.conv.recorded(0).response_len == a.size());
    CHECK(w.conv.recorded(1).begin == 19);
    w.server(static_cast<uint32_t>(a.size()), "HTTP/1.1 404 Not Found\r\n\r\n", 38);
    CHECK(w.conv.request(1).status == "HTTP/1.1 404 Not Found");
    CHECK(w.conv.recorded(1).response_len == 26);
    // The first answer is whole (the next request began): its body's digest is known.
    AnswerDigest whole;
    whole.add(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(a.data()), a.size()));
    CHECK(w.conv.recorded(0).body_digest == whole.value());
    CHECK(w.conv.recorded(1).think_ns > 0);
}

TEST_CASE("conversation: the server speaks first", "[replay][conversation]") {
    Wire w;
    w.handshake();
    w.server(0, "220 mail ready\r\n", 0);
    w.client(0, "HELO x\r\n", 16);
    REQUIRE(w.conv.request_end() == 2);
    CHECK(w.conv.recorded(0).length == 0);
    CHECK(w.conv.recorded(0).response_len == 16);
    CHECK(w.conv.request(0).status == "220 mail ready");
    CHECK(w.conv.recorded(1).length == 8);
}

TEST_CASE("conversation: a FIN beyond the bytes seen, and the byte limit",
          "[replay][conversation]") {
    SECTION("FIN") {
        Wire w;
        w.handshake();
        w.client(0, "GET /", 0);
        const Conversation::Step s = w.client(8, "", 0, kAck | kFin);  // 3 bytes never seen
        CHECK(s.closed);
        CHECK(w.conv.close() == CloseKind::Fin);
        CHECK(w.conv.stream_end() == 8);
        CHECK_FALSE(w.conv.client_done());
        CHECK(w.conv.finish().missing == 3);
        CHECK(w.conv.client_done());
    }
    SECTION("limit") {
        Wire w;
        w.handshake();
        w.client(0, "0123456789", 0, kAck, 16);
        const Conversation::Step s = w.client(10, "0123456789", 0, kAck, 16);
        CHECK(s.cut);
        CHECK(w.conv.close() == CloseKind::Rst);
        CHECK(w.conv.stream_end() == 10);
        CHECK(w.conv.client_done());
    }
}

TEST_CASE("conversation: releasing what no copy needs keeps the counts", "[replay][conversation]") {
    Wire w;
    w.handshake();
    uint32_t off = 0, ack = 0;
    for (int i = 0; i < 4; ++i) {
        const std::string req = "GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
        w.client(off, req, ack);
        off += static_cast<uint32_t>(req.size());
        w.server(ack, "HTTP/1.1 200 OK\r\n\r\n", off);
        ack += 19;
    }
    REQUIRE(w.conv.request_end() == 4);
    CHECK(w.conv.release_requests(2, 4) == 2);
    CHECK(w.conv.first_request() == 2);
    CHECK(w.conv.recorded(0).length == 0);  // released
    w.conv.release_bytes(off);
    CHECK(w.conv.held_bytes() == 0);
    CHECK(w.conv.published_bytes() == off);
    w.conv.drop_bytes();
    CHECK(w.conv.request_end() - w.conv.first_request() == 1);
    // Later bytes still cut requests (for the counts), none is kept.
    w.client(off, "GET /4 HTTP/1.1\r\n\r\n", ack);
    CHECK(w.conv.request_end() == 5);
    CHECK(w.conv.held_bytes() == 0);
}

TEST_CASE("conversation: a segment no side could send belongs to another connection",
          "[replay][conversation]") {
    Wire w;
    w.handshake();
    w.client(0, "GET / HTTP/1.1\r\n\r\n", 0);
    TcpSpec far;
    far.seq = kClientIsn + 1 + (64u << 20);
    far.ack = kServerIsn + 1;
    far.payload = test::to_bytes("GET /");
    const Bytes frame = test::make_tcp(far);
    const net::DecodeResult r = net::decode(1, frame);
    REQUIRE(r.ok());
    CHECK_FALSE(w.conv.plausible(r.packet(), true));
    TcpSpec near = far;
    near.seq = kClientIsn + 1 + 18;
    const Bytes frame2 = test::make_tcp(near);
    CHECK(w.conv.plausible(net::decode(1, frame2).packet(), true));
}

}  // namespace tcpr::replay
