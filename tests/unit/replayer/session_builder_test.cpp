// SessionBuilder on crafted captures: keep-alive with several requests, a large POST, a TSO
// super-segment, a mid-session capture, a server greeting, recorded retransmissions, and the
// selection options.
#include "replayer/sessions/session_builder.h"

#include <string>

#include <catch2/catch.hpp>

#include "support/conversation.h"
#include "support/packet_factory.h"

namespace tcpr::replay {
namespace {

using test::Bytes;
using test::Close;
using test::ConversationSpec;
using test::Exchange;
using test::PcapRecord;

Recording build(const std::vector<PcapRecord>& records, BuilderOptions options = {},
                uint32_t link = 1) {
    SessionBuilder b(std::move(options));
    for (const auto& r : records) {
        b.add_frame(link, r.ts_ns, r.bytes);
    }
    return b.finish();
}

Bytes concat(const std::vector<Bytes>& parts) {
    Bytes out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

Bytes stream_of(const Recording& rec, size_t i) {
    auto s = rec.stream(rec.sessions.at(i));
    return Bytes(s.begin(), s.end());
}

Bytes post_request(size_t body) {
    Bytes r = test::to_bytes(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body) + "\r\n\r\n");
    const Bytes b = test::pattern_bytes(body, 7);
    r.insert(r.end(), b.begin(), b.end());
    return r;
}

}  // namespace

TEST_CASE("keep-alive connection with several requests becomes one session of requests",
          "[replay][builder]") {
    const uint32_t isn = GENERATE(1000u, 0x80000000u, 0xfffffffbu, 0xffffffffu);
    CAPTURE(isn);
    ConversationSpec spec;
    spec.client_isn = isn;
    spec.server_isn = ~isn;
    spec.rtt_ns = 2'000'000;
    const Bytes r1 = test::http_request("/a"), r2 = test::http_request("/bb"),
                r3 = test::http_request("/ccc");
    const Bytes a1 = test::http_response(100), a2 = test::http_response(5000),
                a3 = test::http_response(0);
    spec.exchanges = {{r1, a1, 0}, {r2, a2, 300'000'000}, {r3, a3, 50'000'000}};
    const Recording rec = build(test::make_conversation(spec));

    REQUIRE(rec.sessions.size() == 1);
    const RecordedSession& s = rec.sessions[0];
    CHECK(s.has_syn);
    CHECK(s.client_isn == isn);
    CHECK(s.client.port == 40000);
    CHECK(s.server.port == 80);
    CHECK(s.mss == 1460);
    CHECK(s.close == CloseKind::Fin);
    CHECK_FALSE(s.server_closed_first);
    CHECK(s.rtt_ns >= 2'000'000);  // SYN -> ACK: one RTT plus the 10 us frame spacing
    CHECK(s.rtt_ns < 2'100'000);
    CHECK(stream_of(rec, 0) == concat({r1, r2, r3}));
    CHECK(s.missing_bytes == 0);
    const auto reqs = rec.requests_of(s);
    REQUIRE(reqs.size() == 3);
    CHECK(reqs[0].begin == 0);
    CHECK(reqs[0].length == r1.size());
    CHECK(reqs[1].begin == r1.size());
    CHECK(reqs[1].length == r2.size());
    CHECK(reqs[2].length == r3.size());
    CHECK(reqs[0].response_len == a1.size());
    CHECK(reqs[1].response_len == a2.size());
    CHECK(reqs[2].response_len == a3.size());
    for (const auto& r : reqs) {
        CHECK(rec.status_line(r) == "HTTP/1.1 200 OK");
    }
    // Think time: from the last payload (the answer's last segment) to the request: the
    // configured pause plus the half RTT until the client's ACK and the frame spacing.
    CHECK(reqs[1].think_ns >= 300'000'000);
    CHECK(reqs[1].think_ns < 302'000'000);
    CHECK(reqs[2].think_ns >= 50'000'000);
    CHECK(rec.stats.sessions == 1);
    CHECK(rec.stats.requests == 3);
    // Each request named once, for the comparison per endpoint.
    for (const RecordedRequest& r : rec.requests_of(rec.sessions[0])) {
        REQUIRE(r.endpoint < rec.endpoints.size());
        CHECK(rec.endpoints[r.endpoint].rfind("GET /", 0) == 0);
    }
}

TEST_CASE("a large POST split over many segments is one request", "[replay][builder]") {
    ConversationSpec spec;
    const Bytes post = post_request(200'000);
    spec.exchanges = {{post, test::http_response(10), 0},
                      {test::http_request("/after"), test::http_response(20), 1'000'000}};
    const Recording rec = build(test::make_conversation(spec));
    REQUIRE(rec.sessions.size() == 1);
    const auto reqs = rec.requests_of(rec.sessions[0]);
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].length == post.size());
    CHECK(reqs[1].begin == post.size());
    CHECK(rec.stats.oversized_segments == 0);
}

TEST_CASE("a TSO capture with a 40 kB client segment and zero checksums is kept whole",
          "[replay][builder]") {
    ConversationSpec spec;
    spec.mss = 40'000;  // the capture holds one 40 kB segment, as tcpdump sees it with TSO
    spec.zero_checksums = true;
    const Bytes post = post_request(40'000 - 60);
    spec.exchanges = {{post, test::http_response(30'000), 0}};
    const Recording rec = build(test::make_conversation(spec));
    REQUIRE(rec.sessions.size() == 1);
    CHECK(stream_of(rec, 0) == post);
    CHECK(rec.stats.oversized_segments == 1);
    CHECK(rec.requests_of(rec.sessions[0])[0].response_len == test::http_response(30'000).size());
    CHECK(rec.stats.skipped.total() == 0);
}

TEST_CASE("a session captured without its SYN is replayable and counted mid-session",
          "[replay][builder]") {
    ConversationSpec spec;
    spec.handshake = false;
    spec.client_port = 51000;
    spec.server_port = 8080;
    const Bytes r1 = test::http_request("/x"), r2 = test::http_request("/y");
    spec.exchanges = {{r1, test::http_response(10), 0}, {r2, test::http_response(20), 0}};
    BuilderOptions o;
    o.selection.server_port = 8080;
    const Recording rec = build(test::make_conversation(spec), o);
    REQUIRE(rec.sessions.size() == 1);
    const RecordedSession& s = rec.sessions[0];
    CHECK_FALSE(s.has_syn);
    CHECK(s.client.port == 51000);
    CHECK(s.server.port == 8080);
    CHECK(s.rtt_ns == 0);
    CHECK(stream_of(rec, 0) == concat({r1, r2}));
    CHECK(rec.requests_of(s).size() == 2);
    CHECK(rec.stats.mid_session == 1);
}

TEST_CASE("a capture that begins inside an answer replays from the next whole request",
          "[replay][builder]") {
    // The capture begins with the tail of an answer to a request it does not hold: no empty
    // "greeting" request may come of it (replay would wait for a greeting forever).
    ConversationSpec spec;
    spec.handshake = false;
    const Bytes r2 = test::http_request("/second"), r3 = test::http_request("/third");
    spec.exchanges = {{{}, test::http_response(3000), 0},
                      {r2, test::http_response(10), 0},
                      {r3, test::http_response(20), 0}};
    const Recording rec = build(test::make_conversation(spec));
    REQUIRE(rec.sessions.size() == 1);
    const RecordedSession& s = rec.sessions[0];
    CHECK_FALSE(s.has_syn);
    CHECK(stream_of(rec, 0) == concat({r2, r3}));
    const auto reqs = rec.requests_of(s);
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].length == r2.size());
    CHECK(reqs[0].think_ns == 0);
    CHECK(reqs[0].response_len == test::http_response(10).size());
    CHECK(rec.status_line(reqs[0]) == "HTTP/1.1 200 OK");
    CHECK(reqs[1].response_len == test::http_response(20).size());
    CHECK(rec.stats.mid_session_skipped_answers == 1);
    CHECK(rec.stats.mid_session_skipped_bytes == 0);
}

TEST_CASE("a capture that begins inside a request skips its tail and its answer",
          "[replay][builder]") {
    // The first captured client bytes are the end of a POST body (they begin like no request):
    // they and the answer to that POST are skipped and counted; the session starts with the
    // request the client sent after reading that answer.
    ConversationSpec spec;
    spec.handshake = false;
    const Bytes tail = test::pattern_bytes(700, 3);
    const Bytes r2 = test::http_request("/next");
    spec.exchanges = {{tail, test::http_response(50), 0}, {r2, test::http_response(60), 0}};
    const Recording rec = build(test::make_conversation(spec));
    REQUIRE(rec.sessions.size() == 1);
    CHECK(stream_of(rec, 0) == r2);
    const auto reqs = rec.requests_of(rec.sessions[0]);
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].response_len == test::http_response(60).size());
    CHECK(rec.stats.mid_session_skipped_bytes == tail.size());
    CHECK(rec.stats.mid_session_skipped_answers == 1);
    CHECK(rec.stats.mid_session == 1);

    // Only the tail, then the close: nothing whole to replay, counted.
    spec.exchanges = {{tail, test::http_response(50), 0}};
    const Recording none = build(test::make_conversation(spec));
    CHECK(none.sessions.empty());
    CHECK(none.stats.mid_session_no_boundary == 1);
    CHECK(none.stats.sessions == 0);
}

TEST_CASE("a mid-session request start is recognised, paused for, or left to the ack rule",
          "[replay][builder]") {
    ConversationSpec spec;
    spec.handshake = false;
    const Bytes odd = test::to_bytes("PING-like opaque bytes\r\n");
    const Bytes r2 = test::to_bytes("*1\r\n$4\r\nPING\r\n");  // RESP: a whole command
    spec.exchanges = {{odd, test::to_bytes("+PONG\r\n"), 0}, {r2, test::to_bytes("+PONG\r\n"), 0}};
    // The opaque first bytes are skipped; the RESP command after the answer starts the session.
    Recording rec = build(test::make_conversation(spec));
    REQUIRE(rec.sessions.size() == 1);
    CHECK(stream_of(rec, 0) == r2);
    // After a pause of the policy's length since the capture began, the first bytes are taken
    // as a request start whatever they look like.
    BuilderOptions o;
    o.policy.pause_ns = 1'000'000'000;
    auto records = test::make_conversation(spec);
    // An unrelated packet 2 s earlier marks the capture's start.
    ConversationSpec other;
    other.client_port = 41000;
    other.start_ns = spec.start_ns - 2'000'000'000;
    other.exchanges = {{test::http_request("/"), test::http_response(1), 0}};
    auto early = test::make_conversation(other);
    records.insert(records.begin(), early.begin(), early.end());
    rec = build(records, o);
    REQUIRE(rec.sessions.size() == 2);
    CHECK(stream_of(rec, 1) == concat({odd, r2}));
    // recognize_starts off: an HTTP request line is not trusted without an ack or a pause.
    spec.exchanges = {{test::http_request("/a"), test::http_response(5), 0},
                      {test::http_request("/b"), test::http_response(6), 0}};
    BuilderOptions strict;
    strict.policy.recognize_starts = false;
    rec = build(test::make_conversation(spec), strict);
    REQUIRE(rec.sessions.size() == 1);
    CHECK(stream_of(rec, 0) == test::http_request("/b"));
}

TEST_CASE("looks_like_request_start knows HTTP request lines and RESP commands",
          "[replay][builder]") {
    auto looks = [](std::string_view t) { return looks_like_request_start(test::to_bytes(t)); };
    CHECK(looks("GET / HTTP/1.1\r\n"));
    CHECK(looks("POST /upload HTTP/1.1\r\n"));
    CHECK(looks("OPTIONS * HTTP/1.1\r\n"));
    CHECK(looks("CONNECT host:443 HTTP/1.1\r\n"));
    CHECK(looks("*3\r\n$3\r\nSET\r\n"));
    CHECK(looks("*12\r\n$4\r\n"));
    CHECK_FALSE(looks("GET"));
    CHECK_FALSE(looks("GETX / HTTP/1.1"));
    CHECK_FALSE(looks("get / HTTP/1.1"));
    CHECK_FALSE(looks("GET  /"));
    CHECK_FALSE(looks("*x\r\n$3"));
    CHECK_FALSE(looks("*3\r\n:1\r\n"));
    CHECK_FALSE(looks("HTTP/1.1 200 OK\r\n"));
    CHECK_FALSE(looks(""));
}

TEST_CASE("a connection closed without any request waits only its recorded pause",
          "[replay][builder]") {
    // ab leaves such connections: SYN, handshake, then the client's FIN 30 ms later. The
    // pause before the close is measured from the handshake, never from time zero.
    ConversationSpec spec;
    spec.exchanges = {{{}, {}, 30'000'000}};
    const Recording rec = build(test::make_conversation(spec));
    REQUIRE(rec.sessions.size() == 1);
    const RecordedSession& s = rec.sessions[0];
    CHECK(s.request_count == 0);
    CHECK(s.close == CloseKind::Fin);
    CHECK(s.close_think_ns < 100'000'000);
}

TEST_CASE(
    "mid-session orientation without --port uses the default server port or the lower "
    "port",
    "[replay][builder]") {
    ConversationSpec spec;
    spec.handshake = false;
    spec.client_port = 80;  // unusual: the client uses the lower port
    spec.server_port = 9000;
    spec.exchanges = {{test::http_request("/"), test::http_response(5), 0}};
    BuilderOptions o;
    o.default_server_port = 9000;
    Recording rec = build(test::make_conversation(spec), o);
    REQUIRE(rec.sessions.size() == 1);
    CHECK(rec.sessions[0].server.port == 9000);
    rec = build(test::make_conversation(spec));  // no hint: the lower port serves
    REQUIRE(rec.sessions.size() == 1);
    CHECK(rec.sessions[0].server.port == 80);
}

TEST_CASE("when the server speaks first, replay waits for its greeting", "[replay][builder]") {
    ConversationSpec spec;
    spec.server_port = 25;
    const Bytes greeting = test::to_bytes("220 mail.test ESMTP\r\n");
    // An exchange without a request: the server's greeting, then the client speaks.
    spec.exchanges = {{{}, greeting, 0},
                      {test::to_bytes("EHLO me\r\n"), test::to_bytes("250 ok\r\n"), 0}};
    const Recording rec = build(test::make_conversation(spec));
    REQUIRE(rec.sessions.size() == 1);
    const auto reqs = rec.requests_of(rec.sessions[0]);
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].length == 0);
    CHECK(reqs[0].response_len == greeting.size());
    CHECK(rec.status_line(reqs[0]) == "220 mail.test ESMTP");
    CHECK(reqs[1].length == 9);
    CHECK(rec.status_line(reqs[1]) == "250 ok");
}

TEST_CASE("request boundary policy: ack movement and pauses", "[replay][builder]") {
    // Two requests sent back to back, the second 2 s later without reading anything between.
    ConversationSpec spec;
    const Bytes r1 = test::http_request("/one"), r2 = test::http_request("/two");
    spec.exchanges = {{r1, {}, 0}, {r2, test::http_response(10), 2'000'000'000}};
    SECTION("a recorded pause longer than pause_ns starts a new request") {
        const Recording rec = build(test::make_conversation(spec));
        const auto reqs = rec.requests_of(rec.sessions.at(0));
        REQUIRE(reqs.size() == 2);
        CHECK(reqs[0].response_len == 0);  // the client did not wait for an answer
        CHECK(reqs[1].think_ns >= 2'000'000'000);
    }
    SECTION("with pauses disabled they are one request") {
        BuilderOptions o;
        o.policy.pause_ns = 0;
        const Recording rec = build(test::make_conversation(spec), o);
        const auto reqs = rec.requests_of(rec.sessions.at(0));
        REQUIRE(reqs.size() == 1);
        CHECK(reqs[0].length == r1.size() + r2.size());
    }
    SECTION("with ack splitting disabled, keep-alive requests close in time merge") {
        ConversationSpec ka;
        ka.exchanges = {{r1, test::http_response(10), 0}, {r2, test::http_response(10), 0}};
        BuilderOptions o;
        o.policy.split_on_ack = false;
        const Recording rec = build(test::make_conversation(ka), o);
        CHECK(rec.requests_of(rec.sessions.at(0)).size() == 1);
    }
}

TEST_CASE("recorded retransmissions and reordering do not duplicate client bytes",
          "[replay][builder]") {
    ConversationSpec spec;
    const Bytes req = post_request(3000);
    spec.exchanges = {{req, test::http_response(10), 0}};
    auto recs = test::make_conversation(spec);
    // Frames: SYN, SYN-ACK, ACK, data x3 (mss 1460), ... Duplicate the first data segment
    // later and swap the 2nd and 3rd data segments.
    REQUIRE(recs.size() > 6);
    PcapRecord dup = recs[3];
    dup.ts_ns = recs[5].ts_ns + 1;
    std::swap(recs[4].bytes, recs[5].bytes);
    recs.insert(recs.begin() + 6, dup);
    const Recording rec = build(recs);
    REQUIRE(rec.sessions.size() == 1);
    CHECK(stream_of(rec, 0) == req);
    CHECK(rec.requests_of(rec.sessions[0]).size() == 1);
}

TEST_CASE("client bytes cut by the snaplen are replaced by zeros and counted",
          "[replay][builder]") {
    ConversationSpec spec;
    spec.exchanges = {{post_request(1000), test::http_response(10), 0}};
    auto recs = test::make_conversation(spec);
    recs[3].bytes.resize(recs[3].bytes.size() - 100);  // the data segment lost 100 bytes
    const Recording rec = build(recs);
    REQUIRE(rec.sessions.size() == 1);
    CHECK(rec.sessions[0].stream_len == post_request(1000).size());
    CHECK(rec.sessions[0].missing_bytes == 100);
    CHECK(rec.stats.missing_bytes == 100);
}

TEST_CASE("RST close, server close first, and a reused tuple", "[replay][builder]") {
    ConversationSpec a;
    a.exchanges = {{test::http_request("/"), test::http_response(1), 0}};
    a.close = Close::Rst;
    ConversationSpec b = a;  // same tuple, later, new ISN: a new session
    b.close = Close::Fin;
    b.client_isn = 777777;
    b.start_ns = a.start_ns + 5'000'000'000ull;
    auto recs = test::make_conversation(a);
    const auto more = test::make_conversation(b);
    recs.insert(recs.end(), more.begin(), more.end());
    const Recording rec = build(recs);
    REQUIRE(rec.sessions.size() == 2);
    CHECK(rec.sessions[0].close == CloseKind::Rst);
    CHECK(rec.sessions[1].close == CloseKind::Fin);
    CHECK(rec.sessions[1].client_isn == 777777);
    CHECK(rec.stats.connections == 2);
}

TEST_CASE("selection by port, time window, client network and sample", "[replay][builder]") {
    std::vector<std::vector<PcapRecord>> lists;
    for (int i = 0; i < 40; ++i) {
        ConversationSpec s;
        s.client = "10.0." + std::to_string(i % 2) + "." + std::to_string(i + 1);
        s.client_port = static_cast<uint16_t>(30000 + i);
        s.server_port = i % 4 == 0 ? 443 : 80;
        s.start_ns = 1'700'000'000'000'000'000ULL + static_cast<uint64_t>(i) * 1'000'000'000;
        s.exchanges = {{test::http_request("/"), test::http_response(1), 0}};
        lists.push_back(test::make_conversation(s));
    }
    const auto all = test::merge_by_time(lists);
    CHECK(build(all).sessions.size() == 40);

    BuilderOptions port;
    port.selection.server_port = 80;
    const Recording by_port = build(all, port);
    CHECK(by_port.sessions.size() == 30);
    CHECK(by_port.stats.other_port == 10);

    BuilderOptions window;
    window.selection.from_ns = 10'000'000'000;
    window.selection.to_ns = 20'000'000'000;
    const Recording by_time = build(all, window);
    REQUIRE(by_time.sessions.size() == 10);
    CHECK(by_time.sessions.front().client.port == 30010);

    BuilderOptions net;
    net.selection.client_nets = {*Cidr::parse("10.0.1.0/24")};
    CHECK(build(all, net).sessions.size() == 20);

    BuilderOptions sample;
    sample.selection.sample_percent = 50;
    const size_t n = build(all, sample).sessions.size();
    CHECK(n > 8);
    CHECK(n < 32);
    CHECK(build(all, sample).sessions.size() == n);  // deterministic
    sample.selection.sample_percent = 0;
    CHECK(build(all, sample).sessions.empty());
}

TEST_CASE("Cidr parsing and matching", "[replay][builder]") {
    const auto c = Cidr::parse("192.168.4.0/22");
    REQUIRE(c);
    CHECK(c->contains(*net::IpAddress::parse("192.168.7.255")));
    CHECK_FALSE(c->contains(*net::IpAddress::parse("192.168.8.0")));
    CHECK_FALSE(c->contains(*net::IpAddress::parse("::1")));
    const auto v6 = Cidr::parse("fd00:1::/32");
    REQUIRE(v6);
    CHECK(v6->contains(*net::IpAddress::parse("fd00:1:ffff::9")));
    CHECK_FALSE(v6->contains(*net::IpAddress::parse("fd00:2::9")));
    CHECK(Cidr::parse("10.0.0.1")->prefix_len == 32);
    CHECK_FALSE(Cidr::parse("10.0.0.0/33"));
    CHECK_FALSE(Cidr::parse("10.0.0.0/x"));
    CHECK_FALSE(Cidr::parse("nonsense/8"));
}

TEST_CASE("IPv6 sessions and non-TCP frames", "[replay][builder]") {
    ConversationSpec spec;
    spec.client = "fd00::1";
    spec.server = "fd00::2";
    spec.exchanges = {{test::http_request("/v6"), test::http_response(3), 0}};
    auto recs = test::make_conversation(spec);
    recs.insert(recs.begin() + 1, PcapRecord{recs[0].ts_ns + 1, test::make_udp({})});
    const Recording rec = build(recs);
    REQUIRE(rec.sessions.size() == 1);
    CHECK(rec.sessions[0].client.addr.version == 6);
    CHECK(rec.stats.skipped.of(net::SkipReason::NotTcp) == 1);
}

}  // namespace tcpr::replay
