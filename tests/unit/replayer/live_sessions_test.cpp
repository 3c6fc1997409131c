// LiveSessions: live passthrough's incremental session building, packets fed one at a time as
// a capture delivers them: requests published as the client sends them, answers measured as
// the server sends them, reassembly and capture loss, FIN/RST, idle expiry, caps, sampling,
// mid-session connections, memory release, deferred status comparison. ISNs around the wrap.
#include "replayer/sessions/live_sessions.h"

#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "support/packet_factory.h"

namespace tcpr::replay {
namespace {

using net::tcp_flags::kAck;
using net::tcp_flags::kFin;
using net::tcp_flags::kPsh;
using net::tcp_flags::kRst;
using net::tcp_flags::kSyn;
using test::Bytes;

constexpr uint32_t kEthernet = 1;  // LINKTYPE_ETHERNET
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// One live TCP connection as the capture on the online host sees it.
struct Wire {
    LiveSessions& live;
    std::string client = "10.0.0.1", server = "10.0.0.2";
    uint16_t cport = 40000, sport = 80;
    uint32_t cisn = 1000, sisn = 5000;
    uint32_t cseq = 0, sseq = 0;  // next sequence number each way
    uint16_t window = 65535;      // advertised by both sides (scaled by 7 after the SYNs)
    static constexpr uint64_t kStartTs = 1'700'000'000'000'000'000ull;
    uint64_t ts = kStartTs;        // capture clock
    uint64_t mono = 1'000 * kSec;  // monotonic clock

    void packet(bool from_client, uint8_t flags, uint32_t seq, uint32_t ack, const Bytes& data,
                bool syn_options = false) {
        test::TcpSpec t;
        t.src = from_client ? client : server;
        t.dst = from_client ? server : client;
        t.sport = from_client ? cport : sport;
        t.dport = from_client ? sport : cport;
        t.seq = seq;
        t.ack = ack;
        t.flags = flags;
        t.payload = data;
        t.window = window;
        if (syn_options) {
            t.mss = 1400;
            t.window_scale = 7;
        }
        const Bytes frame = test::make_tcp(t);
        live.add_frame(kEthernet, ts, frame, mono);
        ts += kMs;
        mono += kMs;
    }
    void handshake() {
        packet(true, kSyn, cisn, 0, {}, true);
        packet(false, kSyn | kAck, sisn, cisn + 1, {}, true);
        cseq = cisn + 1;
        sseq = sisn + 1;
        packet(true, kAck, cseq, sseq, {});
    }
    void client_data(const Bytes& d) {
        packet(true, kAck | kPsh, cseq, sseq, d);
        cseq += static_cast<uint32_t>(d.size());
    }
    void server_data(const Bytes& d) {
        packet(false, kAck | kPsh, sseq, cseq, d);
        sseq += static_cast<uint32_t>(d.size());
    }
    void client_ack() { packet(true, kAck, cseq, sseq, {}); }
    void client_fin() {
        packet(true, kFin | kAck, cseq, sseq, {});
        cseq += 1;
    }
    void server_fin() {
        packet(false, kFin | kAck, sseq, cseq, {});
        sseq += 1;
    }
};

Bytes answer(size_t body, const std::string& status = "HTTP/1.1 200 OK") {
    std::string s = status + "\r\nContent-Length: " + std::to_string(body) + "\r\n\r\n";
    s += std::string(body, 'x');
    return text(s);
}

std::vector<uint32_t> take_new(LiveSessions& live) {
    std::vector<uint32_t> v;
    live.take_new(v);
    return v;
}
std::vector<uint32_t> take_changed(LiveSessions& live) {
    std::vector<uint32_t> v;
    live.take_changed(v);
    return v;
}
std::string bytes_of(const LiveSessions& live, uint32_t id, uint32_t off, uint32_t len) {
    const auto b = live.bytes(id, off, len);
    return std::string(b.begin(), b.end());
}

LiveConfig config() {
    LiveConfig c;
    c.server_port = 80;
    return c;
}

}  // namespace

TEST_CASE("a keep-alive session grows request by request as the client sends it",
          "[replay][live]") {
    const uint32_t cisn = GENERATE(0u, 0x80000000u, 0xfffffffbu, 0xffffffffu);
    const uint32_t sisn = GENERATE(0u, 0xfffffffbu, 0xffffffffu);
    CAPTURE(cisn, sisn);
    LiveSessions live(config());
    Wire w{live};
    w.cisn = cisn;
    w.sisn = sisn;

    // The SYN starts the session at once: its copies can handshake before any request.
    w.packet(true, kSyn, cisn, 0, {}, true);
    const auto fresh = take_new(live);
    REQUIRE(fresh.size() == 1);
    const uint32_t id = fresh[0];
    const RecordedSession& s = live.recording().sessions.at(id);
    CHECK(s.has_syn);
    CHECK(s.open);
    CHECK(s.mss == 1400);
    CHECK(s.request_count == 0);
    CHECK(live.is_open(id));

    w.packet(false, kSyn | kAck, sisn, cisn + 1, {}, true);
    w.cseq = cisn + 1;
    w.sseq = sisn + 1;
    w.packet(true, kAck, w.cseq, w.sseq, {});
    CHECK(s.rtt_ns == 2 * kMs);
    CHECK(s.request_count == 0);

    const std::string get1 = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
    w.client_data(text(get1));
    CHECK(s.request_count == 1);
    CHECK(take_changed(live) == std::vector<uint32_t>{id});
    RecordedRequest r0 = live.request(id, 0);
    CHECK(r0.begin == 0);
    CHECK(r0.length == get1.size());
    CHECK(r0.think_ns == 0);
    CHECK(r0.response_len == 0);  // the online server has not answered yet
    CHECK(bytes_of(live, id, 0, r0.length) == get1);
    CHECK_FALSE(live.status_line(id, 0).has_value());

    // The answer arrives in two segments: its length grows, its first line is known.
    const Bytes a1 = answer(3000);
    w.server_data(Bytes(a1.begin(), a1.begin() + 1000));
    CHECK(live.request(id, 0).response_len == 1000);
    REQUIRE(live.status_line(id, 0).has_value());
    CHECK(*live.status_line(id, 0) == "HTTP/1.1 200 OK");
    w.server_data(Bytes(a1.begin() + 1000, a1.end()));
    CHECK(live.request(id, 0).response_len == a1.size());
    w.client_ack();

    // The next request: the client read the answer (its ack moved), so a new request.
    const std::string get2 = "GET /two HTTP/1.1\r\nHost: a\r\n\r\n";
    w.client_data(text(get2));
    CHECK(s.request_count == 2);
    CHECK(live.request(id, 0).response_len == a1.size());  // final now
    const RecordedRequest r1 = live.request(id, 1);
    CHECK(r1.begin == get1.size());
    CHECK(r1.length == get2.size());
    CHECK(bytes_of(live, id, r1.begin, r1.length) == get2);
    w.server_data(answer(10, "HTTP/1.1 404 Not Found"));
    CHECK(*live.status_line(id, 1) == "HTTP/1.1 404 Not Found");
    CHECK(s.open);

    // The client closes: the session is complete; later packets change nothing.
    w.client_fin();
    CHECK_FALSE(s.open);
    CHECK(s.close == CloseKind::Fin);
    CHECK_FALSE(live.is_open(id));
    w.server_fin();
    w.client_ack();
    CHECK(s.request_count == 2);
    CHECK(live.stats().sessions == 1);
    CHECK(live.stats().connections == 1);
    CHECK(live.stats().requests == 2);
    CHECK(live.stats().client_bytes == get1.size() + get2.size());
    CHECK(live.stats().missing_bytes == 0);
}

TEST_CASE("a request sent in several segments grows in place", "[replay][live]") {
    LiveSessions live(config());
    Wire w{live};
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    const std::string head = "POST /upload HTTP/1.1\r\nContent-Length: 4000\r\n\r\n";
    w.client_data(text(head));
    CHECK(live.request(id, 0).length == head.size());
    CHECK(live.request_end(id, 0) == live.request(id, 0).begin + head.size());
    w.client_data(Bytes(1460, 'a'));
    w.client_data(Bytes(1460, 'b'));
    w.client_data(Bytes(1080, 'c'));
    const RecordedSession& s = live.recording().sessions.at(id);
    CHECK(s.request_count == 1);  // the same ack on every segment: one request
    CHECK(live.request(id, 0).length == head.size() + 4000);
    CHECK(live.request_end(id, 0) == live.request(id, 0).begin + head.size() + 4000);
    CHECK(bytes_of(live, id, static_cast<uint32_t>(head.size()) + 1460, 3) == "bbb");
}

TEST_CASE("the server speaking first gives an empty request that waits for the greeting",
          "[replay][live]") {
    LiveSessions live(config());
    Wire w{live};
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    w.server_data(text("220 mail.example ESMTP\r\n"));
    w.client_data(text("EHLO me\r\n"));
    const RecordedSession& s = live.recording().sessions.at(id);
    REQUIRE(s.request_count == 2);
    CHECK(live.request(id, 0).length == 0);
    CHECK(live.request_end(id, 0) == live.request(id, 0).begin);
    CHECK(live.request(id, 0).response_len == 24);
    CHECK(live.request_end(id, 1) == live.request(id, 1).begin + 9);
    CHECK(*live.status_line(id, 0) == "220 mail.example ESMTP");
    CHECK(live.request(id, 1).length == 9);
}

TEST_CASE("out-of-order client bytes are published once contiguous", "[replay][live]") {
    LiveSessions live(config());
    Wire w{live};
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    const uint32_t base = w.cseq;
    // The second half arrives first.
    w.packet(true, kAck | kPsh, base + 10, w.sseq, text("0123456789"));
    const RecordedSession& s = live.recording().sessions.at(id);
    CHECK(s.request_count == 0);
    CHECK(s.stream_len == 0);
    w.packet(true, kAck, base, w.sseq, text("abcdefghij"));
    CHECK(s.request_count == 1);
    CHECK(s.stream_len == 20);
    CHECK(bytes_of(live, id, 0, 20) == "abcdefghij0123456789");
    // A retransmission changes nothing.
    w.packet(true, kAck, base, w.sseq, text("abcdefghij"));
    CHECK(s.stream_len == 20);
    CHECK(live.stats().missing_bytes == 0);
}

TEST_CASE(
    "a request the capture lost bytes of is never published: the copies end before it with a "
    "FIN",
    "[replay][live]") {
    const uint32_t cisn = GENERATE(0xfffffff0u, 7u);
    CAPTURE(cisn);
    LiveSessions live(config());
    Wire w{live};
    w.cisn = cisn;
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    const RecordedSession& s = live.recording().sessions.at(id);
    // A whole request and its answer.
    w.client_data(text("GET /a HTTP/1.1\r\n\r\n"));  // 19 bytes
    w.server_data(text("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    const uint32_t base = w.cseq;
    // The next request: its first 6 bytes ("GET /b") never reach the capture; the rest does.
    w.packet(true, kAck | kPsh, base + 6, w.sseq, text(" HTTP/1.1\r\n\r\n"));
    CHECK(s.open);
    CHECK(s.request_count == 1);
    // The server acknowledges everything: the hole was a capture loss. Zeros in its place
    // would make the target answer 400 and close: the second request is not sent at all.
    w.packet(false, kAck, w.sseq, base + 19, {});
    CHECK(live.stats().missing_bytes == 6);
    CHECK(live.stats().cut_capture_loss == 1);
    CHECK_FALSE(s.open);
    CHECK(s.close == CloseKind::Fin);
    CHECK(s.request_count == 1);
    CHECK(s.stream_len == 19);
    CHECK(bytes_of(live, id, 0, 19) == "GET /a HTTP/1.1\r\n\r\n");
}

TEST_CASE("bytes lost inside a request already begun are never sent: it ends where they begin",
          "[replay][live]") {
    LiveSessions live(config());
    Wire w{live};
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    const uint32_t base = w.cseq;
    w.packet(true, kAck, base, w.sseq, text("GET /x"));
    w.packet(true, kAck | kPsh, base + 10, w.sseq, text(" HTTP/1.1\r"));
    const RecordedSession& s = live.recording().sessions.at(id);
    CHECK(s.stream_len == 6);  // published as it came: copies may have sent it
    w.packet(false, kAck, w.sseq, base + 20, {});
    CHECK(live.stats().missing_bytes == 4);
    CHECK(s.stream_len == 6);  // nothing after the hole, no zeros
    CHECK_FALSE(s.open);
    CHECK(s.close == CloseKind::Fin);
}

TEST_CASE("a client RST ends the session at once", "[replay][live]") {
    LiveSessions live(config());
    Wire w{live};
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    w.client_data(text("GET / HTTP/1.1\r\n\r\n"));
    w.packet(true, kRst | kAck, w.cseq, w.sseq, {});
    const RecordedSession& s = live.recording().sessions.at(id);
    CHECK_FALSE(s.open);
    CHECK(s.close == CloseKind::Rst);
}

TEST_CASE("a server RST ends the session; its copies close after their last answer",
          "[replay][live]") {
    LiveSessions live(config());
    Wire w{live};
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    w.client_data(text("GET / HTTP/1.1\r\n\r\n"));
    w.packet(false, kRst | kAck, w.sseq, w.cseq, {});
    const RecordedSession& s = live.recording().sessions.at(id);
    CHECK_FALSE(s.open);
    CHECK(s.close == CloseKind::None);
    CHECK(s.request_count == 1);
}

TEST_CASE("idle connections expire and ended sessions are released", "[replay][live]") {
    LiveConfig c = config();
    c.idle_ns = 60 * kSec;
    c.closed_linger_ns = 2 * kSec;
    LiveSessions live(c);
    Wire w{live};
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    live.copy_started(id);
    w.client_data(text("GET / HTTP/1.1\r\n\r\n"));
    CHECK(live.open_sessions() == 1);
    CHECK(live.tracked() == 1);

    live.expire(w.mono + 59 * kSec);
    CHECK(live.is_open(id));
    live.expire(w.mono + 61 * kSec);
    CHECK_FALSE(live.is_open(id));
    CHECK_FALSE(live.recording().sessions.at(id).open);
    CHECK(live.stats().expired == 1);
    CHECK(take_changed(live) == std::vector<uint32_t>{id});
    // Still held: a copy is running.
    live.expire(w.mono + 100 * kSec);
    CHECK(live.open_sessions() == 1);
    live.copy_ended(id, 1);
    live.expire(w.mono + 100 * kSec);
    CHECK(live.open_sessions() == 0);
    CHECK(live.tracked() == 0);
    CHECK(live.buffered_bytes() == 0);
}

TEST_CASE("a closed connection lingers, then its id is reused", "[replay][live]") {
    LiveConfig c = config();
    c.closed_linger_ns = 2 * kSec;
    LiveSessions live(c);
    Wire w{live};
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    live.copy_started(id);
    w.client_data(text("GET / HTTP/1.1\r\n\r\n"));
    w.client_fin();
    live.copy_ended(id, 1);
    live.expire(w.mono + 1 * kSec);
    CHECK(live.tracked() == 1);  // late packets of the connection are still recognised
    w.client_ack();
    CHECK(take_new(live).empty());
    live.expire(w.mono + 3 * kSec);
    CHECK(live.tracked() == 0);
    Wire w2{live};
    w2.cport = 40001;
    w2.mono = w.mono + 4 * kSec;
    w2.handshake();
    CHECK(take_new(live) == std::vector<uint32_t>{id});
}

TEST_CASE("a new SYN on a reused tuple starts a new session", "[replay][live]") {
    LiveSessions live(config());
    Wire w{live};
    w.handshake();
    const uint32_t first = take_new(live).at(0);
    live.copy_started(first);
    w.client_data(text("GET /a HTTP/1.1\r\n\r\n"));
    w.client_fin();
    Wire again{live};
    again.cisn = 777777;
    again.ts = w.ts;
    again.mono = w.mono;
    again.handshake();
    const auto fresh = take_new(live);
    REQUIRE(fresh.size() == 1);
    CHECK(fresh[0] != first);
    CHECK(live.stats().sessions == 2);
    CHECK(live.stats().connections == 2);
    // A retransmitted SYN is not a new connection.
    again.packet(true, kSyn, again.cisn, 0, {}, true);
    CHECK(take_new(live).empty());
}

TEST_CASE("a new connection on a tuple whose SYN the capture lost ends the old session",
          "[replay][live]") {
    // Linux gives a reused tuple an ISN its clock ahead of the old one (RFC 6528): a few MB
    // per second; or anything else.
    const uint32_t jump = GENERATE(12'000'000u, 0x40000000u);
    CAPTURE(jump);
    LiveSessions live(config());
    Wire w{live};
    w.window = 1000;  // 128 kB once scaled
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    w.client_data(text("GET /old HTTP/1.1\r\n\r\n"));
    w.server_data(answer(10));
    // The FIN exchange and the next SYN on the same tuple were lost: a far-away sequence space.
    Wire next{live};
    next.ts = w.ts + 2 * kSec;
    next.mono = w.mono + 2 * kSec;
    next.cseq = w.cseq + jump;
    next.sseq = w.sseq + jump + 5'000'000u;
    next.client_data(text("GET /new HTTP/1.1\r\n\r\n"));
    const RecordedSession& s = live.recording().sessions.at(id);
    CHECK_FALSE(s.open);
    CHECK(s.stream_len == 21);  // nothing of the new connection, no zeros
    CHECK(live.stats().implausible == 1);
    CHECK(live.stats().missing_bytes == 0);
    // The new connection is followed from its first request boundary (a pause since start).
    const auto fresh = take_new(live);
    REQUIRE(fresh.size() == 1);
    CHECK(fresh[0] != id);
    CHECK(live.request(fresh[0], 0).length == 21);
}

TEST_CASE("overlapping out-of-order retransmissions are not counted as lost bytes",
          "[replay][live]") {
    LiveSessions live(config());
    Wire w{live};
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    const uint32_t base = w.cseq;
    w.packet(true, kAck, base + 10, w.sseq, text("0123456789"));
    w.packet(true, kAck, base + 15, w.sseq, text("56789abcde"));
    w.packet(true, kAck, base + 10, w.sseq, text("0123456789"));  // again
    w.packet(true, kAck, base, w.sseq, text("ABCDEFGHIJ"));
    CHECK(live.recording().sessions.at(id).stream_len == 25);
    CHECK(bytes_of(live, id, 0, 25) == "ABCDEFGHIJ0123456789abcde");
    CHECK(live.stats().missing_bytes == 0);
}

TEST_CASE("connections already open are copied from their first request boundary",
          "[replay][live]") {
    const uint32_t cseq = GENERATE(0xfffffff0u, 100u);
    CAPTURE(cseq);
    LiveSessions live(config());
    Wire w{live};
    w.cseq = cseq;
    w.sseq = 9000;
    // The capture starts inside a request: its tail, then the answer.
    w.client_data(text("tail of a request\r\n\r\n"));
    CHECK(take_new(live).empty());
    CHECK(live.stats().mid_session_waiting == 1);
    w.server_data(answer(100));
    w.client_ack();
    CHECK(take_new(live).empty());
    // After reading the answer, the client begins a whole request: copied from here.
    const std::string get = "GET /next HTTP/1.1\r\n\r\n";
    w.client_data(text(get));
    const auto fresh = take_new(live);
    REQUIRE(fresh.size() == 1);
    const RecordedSession& s = live.recording().sessions.at(fresh[0]);
    CHECK_FALSE(s.has_syn);
    CHECK(s.request_count == 1);
    CHECK(live.request(fresh[0], 0).length == get.size());
    CHECK(bytes_of(live, fresh[0], 0, static_cast<uint32_t>(get.size())) == get);
    CHECK(live.stats().mid_session == 1);
    CHECK(live.stats().mid_session_waiting == 0);
    CHECK(live.stats().mid_session_skipped_bytes == 21);
    w.server_data(answer(5));
    CHECK(live.request(fresh[0], 0).response_len == answer(5).size());
}

TEST_CASE("an idle keep-alive connection open at start is copied from its next request",
          "[replay][live]") {
    LiveSessions live(config());
    // Something else is captured first: the capture has been running for 2 s.
    Wire other{live};
    other.cport = 50000;
    other.handshake();
    CHECK(take_new(live).size() == 1);
    Wire w{live};
    w.ts = other.ts + 2 * kSec;
    w.mono = other.mono + 2 * kSec;
    w.cseq = 1234;
    w.sseq = 5678;
    w.client_data(text("GET /after-a-pause HTTP/1.1\r\n\r\n"));
    const auto fresh = take_new(live);
    REQUIRE(fresh.size() == 1);
    CHECK(live.recording().sessions.at(fresh[0]).request_count == 1);
    CHECK(live.stats().mid_session_skipped_bytes == 0);
}

TEST_CASE("a connection quiet since the capture began starts with a whole request",
          "[replay][live]") {
    LiveConfig c = config();
    c.capture_start_ns = Wire::kStartTs - 1500 * kMs;  // the capture began 1.5 s before
    LiveSessions live(c);
    Wire w{live};
    w.cseq = 77;
    w.sseq = 88;
    w.client_data(text("GET /first-after-start HTTP/1.1\r\n\r\n"));
    const auto fresh = take_new(live);
    REQUIRE(fresh.size() == 1);
    CHECK_FALSE(live.recording().sessions.at(fresh[0]).has_syn);
    CHECK(live.stats().mid_session_skipped_bytes == 0);
    // Without that knowledge (the capture began with this packet) bytes that do not begin
    // like a request are skipped: they may be the tail of one.
    LiveSessions blind(config());
    Wire b{blind};
    b.cseq = 77;
    b.sseq = 88;
    b.client_data(text("tail of a request body\r\n"));
    CHECK(take_new(blind).empty());
    CHECK(blind.stats().mid_session_skipped_bytes == 24);
}

TEST_CASE("a connection open at start whose first bytes begin a request starts there",
          "[replay][live]") {
    LiveSessions live(config());  // the capture began with this packet: no pause, no answer
    Wire w{live};
    w.cseq = 77;
    w.sseq = 88;
    w.client_data(text("GET /whole HTTP/1.1\r\n\r\n"));
    const auto fresh = take_new(live);
    REQUIRE(fresh.size() == 1);
    CHECK_FALSE(live.recording().sessions.at(fresh[0]).has_syn);
    CHECK(live.stats().mid_session_skipped_bytes == 0);
    // Unless the policy says not to guess.
    LiveConfig strict = config();
    strict.policy.recognize_starts = false;
    LiveSessions off(strict);
    Wire o{off};
    o.cseq = 77;
    o.sseq = 88;
    o.client_data(text("GET /whole HTTP/1.1\r\n\r\n"));
    CHECK(take_new(off).empty());
}

TEST_CASE("a connection open at start that closes before any boundary is counted",
          "[replay][live]") {
    LiveSessions live(config());
    Wire w{live};
    w.cseq = 1;
    w.sseq = 2;
    w.client_data(text("partial"));
    w.client_fin();
    CHECK(take_new(live).empty());
    CHECK(live.stats().mid_session_never == 1);
    CHECK(live.stats().mid_session_waiting == 0);
    CHECK(live.tracked() == 0);
}

TEST_CASE("new connections over --max-active are dropped and counted, not half-copied",
          "[replay][live]") {
    LiveConfig c = config();
    c.copies = 2;
    c.max_active = 4;  // two sessions of two copies
    LiveSessions live(c);
    std::vector<Wire> wires;
    for (uint16_t i = 0; i < 3; ++i) {
        wires.push_back(Wire{live});
        wires.back().cport = static_cast<uint16_t>(41000 + i);
        wires.back().handshake();
    }
    CHECK(take_new(live).size() == 2);
    CHECK(live.stats().dropped_cap == 1);
    CHECK(live.stats().connections == 3);
    // The dropped connection's later packets do not make it a mid-session copy.
    wires[2].client_data(text("GET / HTTP/1.1\r\n\r\n"));
    wires[2].server_data(answer(1));
    wires[2].client_data(text("GET / HTTP/1.1\r\n\r\n"));
    CHECK(take_new(live).empty());
    CHECK(live.stats().mid_session == 0);
}

TEST_CASE(
    "new connections are dropped while the buffer is full; a session over its own "
    "limit is cut",
    "[replay][live]") {
    LiveConfig c = config();
    c.max_buffer_bytes = 1000;
    c.max_session_bytes = 1500;
    LiveSessions live(c);
    Wire a{live};
    a.handshake();
    const uint32_t id = take_new(live).at(0);
    live.copy_started(id);
    a.client_data(Bytes(1200, 'p'));
    CHECK(live.buffered_bytes() == 1200);
    Wire b{live};
    b.cport = 40002;
    b.handshake();
    CHECK(take_new(live).empty());
    CHECK(live.stats().dropped_buffer == 1);
    a.client_data(Bytes(1000, 'q'));  // 2200 bytes held: over the session's limit
    const RecordedSession& s = live.recording().sessions.at(id);
    CHECK_FALSE(s.open);
    CHECK(s.close == CloseKind::Rst);
    CHECK(s.stream_len == 1200);
    CHECK(live.stats().cut == 1);
}

TEST_CASE("sampling chooses sessions by their tuple, deterministically", "[replay][live]") {
    LiveConfig c = config();
    c.sample_percent = 30.0;
    c.sample_seed = 42;
    LiveSessions one(c), two(c);
    std::set<uint16_t> chosen_one, chosen_two;
    for (uint32_t i = 0; i < 5000; ++i) {
        for (LiveSessions* live : {&one, &two}) {
            Wire w{*live};
            w.client = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
            w.cport = static_cast<uint16_t>(20000 + i);
            w.handshake();
            w.client_data(text("GET / HTTP/1.1\r\n\r\n"));
            w.client_fin();
            if (!take_new(*live).empty()) {
                (live == &one ? chosen_one : chosen_two).insert(w.cport);
            }
        }
    }
    CHECK(chosen_one == chosen_two);
    CHECK(chosen_one.size() > 1350);  // 30% of 5000 = 1500, +-10%
    CHECK(chosen_one.size() < 1650);
    CHECK(one.stats().not_selected == 5000 - chosen_one.size());
    // Never per packet: a session left out stays out, whatever it sends later.
    LiveSessions three(c);
    for (uint32_t i = 0; i < 200; ++i) {
        Wire w{three};
        w.cport = static_cast<uint16_t>(30000 + i);
        w.handshake();
        const bool chosen = !take_new(three).empty();
        for (int k = 0; k < 3; ++k) {
            w.client_data(text("GET / HTTP/1.1\r\n\r\n"));
            w.server_data(answer(1));
        }
        CHECK(take_new(three).empty());
        CHECK(three.stats().mid_session == 0);
        (void)chosen;
    }
    // A different seed chooses differently.
    c.sample_seed = 43;
    LiveSessions four(c);
    std::set<uint16_t> chosen_four;
    for (uint32_t i = 0; i < 5000; ++i) {
        Wire w{four};
        w.client = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
        w.cport = static_cast<uint16_t>(20000 + i);
        w.handshake();
        if (!take_new(four).empty()) {
            chosen_four.insert(w.cport);
        }
    }
    CHECK(chosen_four != chosen_one);
}

TEST_CASE(
    "a copy more than --max-lag behind its live connection gets no more requests, new "
    "connections are not copied until it caught up",
    "[replay][live]") {
    LiveConfig c = config();
    c.max_lag_ns = 2 * kSec;
    LiveSessions live(c);
    Wire a{live};
    a.cport = 40001;
    a.handshake();
    const uint32_t id = take_new(live).at(0);
    live.copy_started(id);
    a.client_data(text("GET /a HTTP/1.1\r\n\r\n"));
    a.server_data(answer(100));
    // The online client goes on for 3 s of capture time; its copy has not finished request 0.
    for (int i = 0; i < 3; ++i) {
        a.ts += kSec;
        a.mono += kSec;
        a.client_data(text("GET /b HTTP/1.1\r\n\r\n"));
        a.server_data(answer(100));
    }
    live.expire(a.mono);
    CHECK(live.stats().lag_ns >= 3 * kSec);
    // That connection's copies are given no more requests, and each ends after the request it
    // is on (the drivers read `shed`; live_driver_test.cpp).
    const RecordedSession& s = live.recording().sessions.at(id);
    CHECK(live.stats().cut_behind == 1);
    CHECK(s.shed);
    CHECK_FALSE(s.open);
    CHECK(s.close == CloseKind::Fin);
    CHECK(s.request_count == 4);
    a.client_data(text("GET /c HTTP/1.1\r\n\r\n"));
    CHECK(s.request_count == 4);
    Wire b{live};
    b.cport = 40002;
    b.ts = a.ts;
    b.mono = a.mono;
    b.handshake();
    CHECK(take_new(live).empty());
    CHECK(live.stats().dropped_behind == 1);
    // The copy catches up (every request done): the next connection is copied again.
    CopyProgress p;
    p.copies = 1;
    p.min_request = 4;
    live.progress(id, p);
    live.expire(a.mono);
    CHECK(live.stats().lag_ns == 0);
    CHECK(live.stats().peak_lag_ns >= 3 * kSec);
    Wire d{live};
    d.cport = 40003;
    d.ts = a.ts;
    d.mono = a.mono;
    d.handshake();
    CHECK(take_new(live).size() == 1);
    CHECK(live.stats().dropped_behind == 1);
}

TEST_CASE("bytes and requests every copy is done with are released", "[replay][live]") {
    LiveConfig c = config();
    c.copies = 2;
    LiveSessions live(c);
    Wire w{live};
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    live.copy_started(id);
    live.copy_started(id);
    uint32_t offset = 0;
    for (int i = 0; i < 40; ++i) {
        w.client_data(Bytes(10'000, static_cast<uint8_t>('a' + i % 26)));
        w.server_data(answer(100));
        offset += 10'000;
    }
    const RecordedSession& s = live.recording().sessions.at(id);
    REQUIRE(s.request_count == 40);
    CHECK(live.buffered_bytes() == 400'000);
    // One copy is at request 30 (300000 bytes acknowledged), the other at 35.
    CopyProgress p;
    p.copies = 2;
    p.min_request = 30;
    p.min_acked = 300'000;
    live.progress(id, p);
    CHECK(live.buffered_bytes() == 100'000);
    // What the slowest copy still needs is there.
    CHECK(live.request(id, 30).begin == 300'000);
    CHECK(live.request(id, 30).length == 10'000);
    CHECK(bytes_of(live, id, 300'000, 3) == "eee");
    CHECK(live.request(id, 39).length == 10'000);
    // Once every copy ended, nothing is kept.
    live.copy_ended(id, 40);
    live.copy_ended(id, 40);
    CHECK(live.buffered_bytes() == 0);
    w.client_data(Bytes(5000, 'z'));
    CHECK(live.buffered_bytes() == 0);
    CHECK(live.stats().requests_unsent == 2);  // the 41st request, for each ended copy
}

TEST_CASE("a copy's answer compares with the online first line when that arrives later",
          "[replay][live]") {
    LiveSessions live(config());
    Wire w{live};
    w.handshake();
    const uint32_t id = take_new(live).at(0);
    w.client_data(text("GET /a HTTP/1.1\r\n\r\n"));
    const net::Endpoint copy{*net::IpAddress::parse("10.0.0.1"), 47919};
    live.compare_later(id, 0, copy, "HTTP/1.1 200 OK", false);
    live.compare_later(id, 0, copy, "HTTP/1.1 500 Internal Server Error", false);
    live.compare_later(id, 0, copy, "HTTP/1.1 2", true);  // the report's head was cut
    CHECK(live.stats().status_match + live.stats().status_mismatch == 0);
    w.server_data(answer(10));
    CHECK(live.stats().status_match == 2);
    CHECK(live.stats().status_mismatch == 1);
    REQUIRE(live.stats().mismatch_examples.size() == 1);
    CHECK(live.stats().mismatch_examples[0].expected == "HTTP/1.1 200 OK");
    CHECK(live.stats().mismatch_examples[0].got == "HTTP/1.1 500 Internal Server Error");
    CHECK(live.stats().mismatch_examples[0].client == "10.0.0.1:47919");
    // A session that ends before its answer's first line was captured: not comparable.
    w.client_data(text("GET /b HTTP/1.1\r\n\r\n"));
    live.compare_later(id, 1, copy, "HTTP/1.1 200 OK", false);
    w.packet(true, kRst | kAck, w.cseq, w.sseq, {});
    CHECK(live.stats().status_unknown == 1);
}

TEST_CASE("close_all ends every open session as captured so far", "[replay][live]") {
    LiveSessions live(config());
    Wire a{live}, b{live};
    b.cport = 40009;
    a.handshake();
    b.handshake();
    a.client_data(text("GET / HTTP/1.1\r\n\r\n"));
    const auto ids = take_new(live);
    REQUIRE(ids.size() == 2);
    // A connection open at start and still waiting for a boundary is simply forgotten.
    Wire c{live};
    c.cport = 40010;
    c.cseq = 5;
    c.sseq = 6;
    c.client_data(text("partial"));
    live.close_all(a.mono);
    for (uint32_t id : ids) {
        CHECK_FALSE(live.recording().sessions.at(id).open);
        CHECK(live.recording().sessions.at(id).close == CloseKind::None);
    }
    CHECK(live.stats().ended_at_stop == 2);
    CHECK(live.stats().mid_session_waiting == 0);
}

TEST_CASE("only the online port is followed", "[replay][live]") {
    LiveSessions live(config());
    Wire w{live};
    w.sport = 8080;
    w.cport = 40000;
    w.handshake();
    CHECK(take_new(live).empty());
    CHECK(live.stats().other_port == 3);
    CHECK(live.stats().connections == 0);
}

TEST_CASE("clients of the other IP version are left out", "[replay][live]") {
    LiveConfig c = config();
    c.ip_version = 6;
    LiveSessions live(c);
    Wire w{live};
    w.handshake();
    CHECK(take_new(live).empty());
    CHECK(live.stats().other_family == 1);
}

}  // namespace tcpr::replay
