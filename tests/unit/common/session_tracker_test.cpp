#include "common/session/session_tracker.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/net/packet_view.h"
#include "support/conversation.h"
#include "support/packet_factory.h"

using namespace tcpr;
using namespace tcpr::test;
using session::SessionSummary;
using session::SessionTracker;
namespace sf = session::session_flags;

namespace {

namespace f = net::tcp_flags;

net::PacketView view_of(const Bytes& frame) {
    const net::DecodeResult r = net::decode(net::LinkType::Ethernet, frame);
    REQUIRE(r.ok());
    return r.packet();
}

struct Totals {
    uint64_t packets_c2s = 0, packets_s2c = 0, bytes_c2s = 0, bytes_s2c = 0;
};

// Feeds every record (frame number = index / frames_per_data_frame) and returns what the
// records say the counts should be, by the client endpoint given.
Totals feed(SessionTracker& t, const std::vector<PcapRecord>& records, const net::Endpoint& client,
            uint32_t first_frame = 0, uint32_t records_per_frame = 4) {
    Totals want;
    for (size_t i = 0; i < records.size(); ++i) {
        const net::PacketView v = view_of(records[i].bytes);
        if (net::Endpoint{v.src, v.sport} == client) {
            ++want.packets_c2s;
            want.bytes_c2s += v.payload_len;
        } else {
            ++want.packets_s2c;
            want.bytes_s2c += v.payload_len;
        }
        t.observe(v, records[i].ts_ns, first_frame + static_cast<uint32_t>(i / records_per_frame));
    }
    return want;
}

net::Endpoint endpoint(const std::string& addr, uint16_t port) {
    return net::Endpoint{*net::IpAddress::parse(addr), port};
}

ConversationSpec keep_alive(uint32_t client_isn, uint32_t server_isn) {
    ConversationSpec c;
    c.client = "10.1.0.5";
    c.server = "10.2.0.9";
    c.client_port = 45678;
    c.server_port = 80;
    c.client_isn = client_isn;
    c.server_isn = server_isn;
    c.exchanges = {{http_request("/a"), http_response(3000, 1), 0},
                   {http_request("/b"), http_response(100, 2), 5'000'000}};
    return c;
}

void check_counts(const SessionSummary& s, const Totals& want) {
    CHECK(s.packets_c2s == want.packets_c2s);
    CHECK(s.packets_s2c == want.packets_s2c);
    CHECK(s.bytes_c2s == want.bytes_c2s);
    CHECK(s.bytes_s2c == want.bytes_s2c);
}

const std::vector<uint32_t> kIsns = {0u, 20u, 0x7fffffffu, 0x80000000u, 0xfffffffbu, 0xffffffffu};

}  // namespace

TEST_CASE("a full session: client from the SYN, counts, bytes, flags, frames", "[session]") {
    const uint32_t isn = GENERATE(from_range(kIsns));
    CAPTURE(isn);
    const ConversationSpec c = keep_alive(isn, isn - 3);
    const auto records = make_conversation(c);
    SessionTracker t;
    const Totals want = feed(t, records, endpoint(c.client, c.client_port));
    REQUIRE(t.size() == 1);
    const SessionSummary& s = t.sessions()[0];
    CHECK(s.client == endpoint(c.client, c.client_port));
    CHECK(s.server == endpoint(c.server, c.server_port));
    check_counts(s, want);
    const uint64_t req_bytes = http_request("/a").size() + http_request("/b").size();
    const uint64_t resp_bytes = http_response(3000, 1).size() + http_response(100, 2).size();
    CHECK(s.bytes_c2s == req_bytes);
    CHECK(s.bytes_s2c == resp_bytes);
    CHECK(s.has(sf::kSynSeen));
    CHECK(s.has(sf::kSynAckSeen));
    CHECK(s.has(sf::kClientFromSyn));
    CHECK(s.has(sf::kFinSeen));
    CHECK_FALSE(s.has(sf::kRstSeen));
    CHECK_FALSE(s.has(sf::kPayloadTruncated));
    CHECK(s.first_ns == records.front().ts_ns);
    CHECK(s.last_ns == records.back().ts_ns);
    // 4 records per data frame: frames 0..ceil(n/4)-1, each once, ascending.
    std::vector<uint32_t> want_frames;
    for (uint32_t i = 0; i * 4 < records.size(); ++i) {
        want_frames.push_back(i);
    }
    CHECK(s.frames == want_frames);
    CHECK(t.active(records.back().ts_ns, 1'000'000'000) == 0);  // closed by FIN
}

TEST_CASE("client from the SYN-ACK when the SYN was not captured", "[session]") {
    const uint32_t isn = GENERATE(from_range(kIsns));
    CAPTURE(isn);
    const ConversationSpec c = keep_alive(isn, isn + 0x40000000u);
    auto records = make_conversation(c);
    records.erase(records.begin());  // drop the SYN
    SessionTracker t;
    const Totals want = feed(t, records, endpoint(c.client, c.client_port));
    REQUIRE(t.size() == 1);
    const SessionSummary& s = t.sessions()[0];
    CHECK(s.client == endpoint(c.client, c.client_port));
    CHECK(s.server == endpoint(c.server, c.server_port));
    check_counts(s, want);
    CHECK_FALSE(s.has(sf::kSynSeen));
    CHECK(s.has(sf::kSynAckSeen));
    CHECK(s.has(sf::kClientFromSyn));
}

TEST_CASE("a SYN captured after its SYN-ACK stays in the session", "[session]") {
    const uint32_t isn = GENERATE(from_range(kIsns));
    CAPTURE(isn);
    auto records = make_conversation(keep_alive(isn, 77));
    std::swap(records[0], records[1]);  // capture reordering across CPUs
    SessionTracker t;
    feed(t, records, endpoint("10.1.0.5", 45678));
    REQUIRE(t.size() == 1);
    CHECK(t.sessions()[0].has(sf::kSynSeen | sf::kSynAckSeen));
    CHECK(t.sessions()[0].client == endpoint("10.1.0.5", 45678));
}

TEST_CASE("mid-session capture is oriented by the server port, else the lower port", "[session]") {
    const uint32_t isn = GENERATE(from_range(kIsns));
    CAPTURE(isn);
    ConversationSpec c = keep_alive(isn, isn ^ 0x80000000u);
    c.handshake = false;

    SECTION("lower port is the server when no port is given") {
        const auto records = make_conversation(c);
        SessionTracker t;
        const Totals want = feed(t, records, endpoint(c.client, c.client_port));
        REQUIRE(t.size() == 1);
        const SessionSummary& s = t.sessions()[0];
        CHECK(s.client == endpoint(c.client, c.client_port));
        CHECK(s.server == endpoint(c.server, 80));
        check_counts(s, want);
        CHECK_FALSE(s.has(sf::kClientFromSyn));
        CHECK_FALSE(s.has(sf::kSynSeen));
        CHECK_FALSE(s.has(sf::kSynAckSeen));
        CHECK(s.has(sf::kFinSeen));
    }
    SECTION("the recorded server port wins over the lower-port rule") {
        c.client_port = 1234;  // lower than the server's
        c.server_port = 50000;
        const auto records = make_conversation(c);
        SessionTracker by_port(uint16_t{50000});
        const Totals want = feed(by_port, records, endpoint(c.client, c.client_port));
        REQUIRE(by_port.size() == 1);
        CHECK(by_port.sessions()[0].client == endpoint(c.client, 1234));
        CHECK(by_port.sessions()[0].server == endpoint(c.server, 50000));
        check_counts(by_port.sessions()[0], want);

        // Without the port, the lower port (1234) is taken for the server: documented guess.
        SessionTracker guess;
        feed(guess, records, endpoint(c.client, c.client_port));
        REQUIRE(guess.size() == 1);
        CHECK(guess.sessions()[0].server == endpoint(c.client, 1234));
    }
    SECTION("first packet from the server side is oriented by the server port too") {
        auto records = make_conversation(c);
        // Start the capture at the first server packet.
        size_t first_s2c = 0;
        while (view_of(records[first_s2c].bytes).sport != 80) {
            ++first_s2c;
        }
        records.erase(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(first_s2c));
        SessionTracker t(uint16_t{80});
        const Totals want = feed(t, records, endpoint(c.client, c.client_port));
        REQUIRE(t.size() == 1);
        CHECK(t.sessions()[0].client == endpoint(c.client, c.client_port));
        check_counts(t.sessions()[0], want);
    }
}

TEST_CASE("a RST closes the session and is flagged", "[session]") {
    ConversationSpec c = keep_alive(1000, 2000);
    c.close = Close::Rst;
    SessionTracker t;
    feed(t, make_conversation(c), endpoint(c.client, c.client_port));
    REQUIRE(t.size() == 1);
    CHECK(t.sessions()[0].has(sf::kRstSeen));
    CHECK_FALSE(t.sessions()[0].has(sf::kFinSeen));
}

TEST_CASE("a retransmitted SYN stays in its session", "[session]") {
    const uint32_t isn = GENERATE(from_range(kIsns));
    CAPTURE(isn);
    auto records = make_conversation(keep_alive(isn, 9));
    PcapRecord again = records[0];
    again.ts_ns += 1;
    records.insert(records.begin() + 1, again);  // SYN, SYN (retransmit), SYN-ACK, ...
    SessionTracker t;
    const Totals want = feed(t, records, endpoint("10.1.0.5", 45678));
    REQUIRE(t.size() == 1);
    check_counts(t.sessions()[0], want);
    CHECK(t.sessions()[0].packets_c2s == want.packets_c2s);
}

TEST_CASE("port reuse after FIN or RST starts a new session", "[session]") {
    const uint32_t isn = GENERATE(from_range(kIsns));
    const Close close = GENERATE(Close::Fin, Close::Rst);
    CAPTURE(isn, close == Close::Fin ? "fin" : "rst");
    ConversationSpec first = keep_alive(isn, 5);
    first.close = close;
    ConversationSpec second = keep_alive(isn, 6);  // even the same client ISN
    second.start_ns = first.start_ns + 1'000'000'000;
    const auto a = make_conversation(first);
    const auto b = make_conversation(second);
    SessionTracker t;
    const Totals want_a = feed(t, a, endpoint(first.client, first.client_port), 0);
    const Totals want_b = feed(t, b, endpoint(first.client, first.client_port), 100);
    REQUIRE(t.size() == 2);
    check_counts(t.sessions()[0], want_a);
    check_counts(t.sessions()[1], want_b);
    CHECK(t.sessions()[0].last_ns < t.sessions()[1].first_ns);
    CHECK(t.sessions()[1].frames.front() == 100);
    CHECK(t.sessions()[1].has(sf::kSynSeen | sf::kFinSeen));
}

TEST_CASE("a SYN with a new ISN on an open tuple starts a new session", "[session]") {
    const uint32_t isn = GENERATE(from_range(kIsns));
    CAPTURE(isn);
    ConversationSpec first = keep_alive(isn, 5);
    first.close = Close::None;  // the end of the first connection was not captured
    ConversationSpec second = keep_alive(isn + 0x1000000u, 6);
    second.start_ns = first.start_ns + 1'000'000'000;
    const net::Endpoint client = endpoint(first.client, first.client_port);

    SECTION("the first connection's SYN was captured") {
        SessionTracker t;
        const Totals want_a = feed(t, make_conversation(first), client);
        const Totals want_b = feed(t, make_conversation(second), client, 50);
        REQUIRE(t.size() == 2);
        check_counts(t.sessions()[0], want_a);
        check_counts(t.sessions()[1], want_b);
    }
    SECTION("the first connection was captured from its SYN-ACK") {
        auto a = make_conversation(first);
        a.erase(a.begin());
        SessionTracker t;
        const Totals want_a = feed(t, a, client);
        const Totals want_b = feed(t, make_conversation(second), client, 50);
        REQUIRE(t.size() == 2);
        check_counts(t.sessions()[0], want_a);
        check_counts(t.sessions()[1], want_b);
    }
    SECTION("the first connection was captured mid-session") {
        first.handshake = false;
        SessionTracker t;
        const Totals want_a = feed(t, make_conversation(first), client);
        const Totals want_b = feed(t, make_conversation(second), client, 50);
        REQUIRE(t.size() == 2);
        check_counts(t.sessions()[0], want_a);
        check_counts(t.sessions()[1], want_b);
        CHECK(t.sessions()[1].has(sf::kSynSeen | sf::kClientFromSyn));
    }
    SECTION("a SYN-ACK whose ack does not match the open session's ISN") {
        auto b = make_conversation(second);
        b.erase(b.begin());  // the new connection's SYN was not captured
        SessionTracker t;
        const Totals want_a = feed(t, make_conversation(first), client);
        const Totals want_b = feed(t, b, client, 50);
        REQUIRE(t.size() == 2);
        check_counts(t.sessions()[0], want_a);
        check_counts(t.sessions()[1], want_b);
        CHECK(t.sessions()[1].client == client);
    }
}

TEST_CASE("interleaved sessions keep stable indices in order of first packet", "[session]") {
    std::vector<std::vector<PcapRecord>> lists;
    for (uint16_t i = 0; i < 5; ++i) {
        ConversationSpec c = keep_alive(1000u * i, 0xffffff00u + i);
        c.client_port = static_cast<uint16_t>(40000 + i);
        c.start_ns += i * 300'000;  // overlapping in time
        lists.push_back(make_conversation(c));
    }
    const auto merged = merge_by_time(lists);
    SessionTracker t;
    std::vector<size_t> index_of_port(5, 999);
    for (size_t i = 0; i < merged.size(); ++i) {
        const net::PacketView v = view_of(merged[i].bytes);
        const size_t idx = t.observe(v, merged[i].ts_ns, static_cast<uint32_t>(i / 8));
        const uint16_t cport = v.sport == 80 ? v.dport : v.sport;
        const size_t slot = cport - 40000u;
        if (index_of_port[slot] == 999) {
            index_of_port[slot] = idx;
        }
        CHECK(idx == index_of_port[slot]);
    }
    REQUIRE(t.size() == 5);
    for (size_t i = 0; i < 5; ++i) {
        CHECK(index_of_port[i] == i);
        CHECK(t.sessions()[i].client.port == 40000 + i);
        if (i > 0) {
            CHECK(t.sessions()[i - 1].first_ns <= t.sessions()[i].first_ns);
        }
        // Frames ascending and unique.
        const auto& fr = t.sessions()[i].frames;
        for (size_t k = 1; k < fr.size(); ++k) {
            CHECK(fr[k - 1] < fr[k]);
        }
    }
}

TEST_CASE("active() counts open sessions seen within the idle time", "[session]") {
    ConversationSpec open = keep_alive(1, 2);
    open.close = Close::None;
    const auto records = make_conversation(open);
    SessionTracker t;
    feed(t, records, endpoint(open.client, open.client_port));
    const uint64_t last = records.back().ts_ns;
    CHECK(t.active(last, 1'000) == 1);
    CHECK(t.active(last + 1'000, 1'000) == 1);
    CHECK(t.active(last + 1'001, 1'000) == 0);
    // Capture timestamps are not strictly ordered across CPUs: "now" slightly before the
    // session's last packet still counts it as active.
    CHECK(t.active(last - 5, 1'000) == 1);
}

TEST_CASE("a payload cut by the snaplen is flagged; bytes follow the IP header", "[session]") {
    TcpSpec s;
    s.flags = f::kAck | f::kPsh;
    s.payload = pattern_bytes(1000);
    Bytes frame = make_tcp(s);
    frame.resize(100);  // snaplen 100
    const net::DecodeResult r = net::decode(net::LinkType::Ethernet, frame);
    REQUIRE(r.ok());
    REQUIRE(r.packet().payload_truncated());
    SessionTracker t;
    t.observe(r.packet(), 1, 0);
    REQUIRE(t.size() == 1);
    CHECK(t.sessions()[0].has(sf::kPayloadTruncated));
    CHECK(t.sessions()[0].bytes_c2s + t.sessions()[0].bytes_s2c == 1000);
}

TEST_CASE("IPv6 sessions are tracked like IPv4 ones", "[session]") {
    ConversationSpec c = keep_alive(0xfffffff0u, 3);
    c.client = "2001:db8::10";
    c.server = "2001:db8::80";
    const auto records = make_conversation(c);
    SessionTracker t;
    const Totals want = feed(t, records, endpoint(c.client, c.client_port));
    REQUIRE(t.size() == 1);
    CHECK(t.sessions()[0].client == endpoint(c.client, c.client_port));
    check_counts(t.sessions()[0], want);
}
