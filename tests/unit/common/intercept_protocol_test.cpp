// The intercept <-> replayer wire protocol: round trips, byte layout, truncation, damage.
#include "common/wire/intercept_protocol.h"

#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/net/packet_view.h"

namespace {

using namespace tcpr;
using namespace tcpr::wire;

net::Endpoint ep(const std::string& addr, uint16_t port) {
    const auto a = net::IpAddress::parse(addr);
    REQUIRE(a);
    return net::Endpoint{*a, port};
}

Tuple v4_tuple(uint16_t client_port = 40001) {
    return Tuple{ep("192.0.2.10", client_port), ep("198.51.100.7", 80)};
}
Tuple v6_tuple(uint16_t client_port = 40001) {
    return Tuple{ep("2001:db8::10", client_port), ep("2001:db8:ffff::7", 443)};
}

Report sample_report(const Tuple& t, size_t head) {
    Report r;
    r.ts_ns = 1700000000123456789ULL;
    r.tuple = t;
    r.seq = 0xfffffffbu;
    r.ack = 0x80000000u;
    r.window = 65535;
    r.flags = net::tcp_flags::kSyn | net::tcp_flags::kAck;
    r.window_scale = 7;
    r.mss = 1460;
    r.payload_len = 1448;
    for (size_t i = 0; i < head; ++i) {
        r.payload_head.push_back(static_cast<uint8_t>('A' + i % 26));
    }
    return r;
}

// Every message type, IPv4 and IPv6 where the message carries addresses.
std::vector<Message> all_messages() {
    std::vector<Message> m;
    m.push_back(Hello{kProtocolVersion, "tcpreplay2 pid 1234"});
    m.push_back(Hello{kProtocolVersion, ""});
    m.push_back(Hello{kProtocolVersion, "tcpreplay2", kFeaturePayload});
    m.push_back(HelloAck{kProtocolVersion, 120});
    m.push_back(HelloAck{kProtocolVersion, 120, kFeaturePayload});
    m.push_back(Register{{v4_tuple(1), v4_tuple(2), v4_tuple(65535)}});
    m.push_back(Register{{v6_tuple(1)}});
    m.push_back(Register{{v4_tuple(3), v6_tuple(4)}});
    m.push_back(Register{});
    m.push_back(Unregister{{v4_tuple(9)}});
    m.push_back(Unregister{{v6_tuple(9), v6_tuple(10)}});
    m.push_back(Reports{{sample_report(v4_tuple(), 0)}});
    m.push_back(Reports{{sample_report(v6_tuple(), kMaxPayloadHead)}});
    m.push_back(Reports{{sample_report(v4_tuple(5), 17), sample_report(v6_tuple(6), 64),
                         sample_report(v4_tuple(7), 1)}});
    m.push_back(Reports{});
    m.push_back(Reports{{sample_report(v4_tuple(8), 1448)}, 1700000000223456789ULL});
    m.push_back(Ping{0});
    m.push_back(Ping{0x0123456789abcdefULL});
    m.push_back(ErrorMsg{"address 10.9.9.9 is not allowed"});
    m.push_back(Refused{kRefusedHeldByOther, {v4_tuple(11), v6_tuple(12)}});
    m.push_back(Refused{});
    Challenge c;
    for (size_t i = 0; i < c.nonce.size(); ++i) {
        c.nonce[i] = static_cast<uint8_t>(i * 7 + 1);
    }
    m.push_back(c);
    Auth a;
    a.mac.fill(0xa5);
    m.push_back(a);
    return m;
}

bool same(const Report& a, const Report& b) {
    return a.ts_ns == b.ts_ns && a.tuple == b.tuple && a.seq == b.seq && a.ack == b.ack &&
           a.window == b.window && a.flags == b.flags && a.window_scale == b.window_scale &&
           a.mss == b.mss && a.payload_len == b.payload_len && a.payload_head == b.payload_head;
}

bool same(const Message& a, const Message& b) {
    if (a.index() != b.index()) {
        return false;
    }
    if (auto* x = std::get_if<Hello>(&a)) {
        auto& y = std::get<Hello>(b);
        return x->version == y.version && x->name == y.name && x->features == y.features;
    }
    if (auto* x = std::get_if<HelloAck>(&a)) {
        auto& y = std::get<HelloAck>(b);
        return x->version == y.version && x->expiry_seconds == y.expiry_seconds &&
               x->features == y.features;
    }
    if (auto* x = std::get_if<Register>(&a)) {
        return x->tuples == std::get<Register>(b).tuples;
    }
    if (auto* x = std::get_if<Unregister>(&a)) {
        return x->tuples == std::get<Unregister>(b).tuples;
    }
    if (auto* x = std::get_if<Reports>(&a)) {
        auto& y = std::get<Reports>(b);
        if (x->reports.size() != y.reports.size() || x->sent_ns != y.sent_ns) {
            return false;
        }
        for (size_t i = 0; i < x->reports.size(); ++i) {
            if (!same(x->reports[i], y.reports[i])) {
                return false;
            }
        }
        return true;
    }
    if (auto* x = std::get_if<Ping>(&a)) {
        return x->nonce == std::get<Ping>(b).nonce;
    }
    if (auto* x = std::get_if<Refused>(&a)) {
        return x->reason == std::get<Refused>(b).reason && x->tuples == std::get<Refused>(b).tuples;
    }
    if (auto* x = std::get_if<Challenge>(&a)) {
        return x->algorithm == std::get<Challenge>(b).algorithm &&
               x->nonce == std::get<Challenge>(b).nonce;
    }
    if (auto* x = std::get_if<Auth>(&a)) {
        return x->mac == std::get<Auth>(b).mac;
    }
    return std::get<ErrorMsg>(a).reason == std::get<ErrorMsg>(b).reason;
}

std::vector<uint8_t> frame(MessageType type, const std::vector<uint8_t>& body,
                           uint8_t version = kProtocolVersion) {
    std::vector<uint8_t> f = {version, static_cast<uint8_t>(type), 0, 0};
    const auto n = static_cast<uint32_t>(body.size());
    f.push_back(static_cast<uint8_t>(n >> 24));
    f.push_back(static_cast<uint8_t>(n >> 16));
    f.push_back(static_cast<uint8_t>(n >> 8));
    f.push_back(static_cast<uint8_t>(n));
    f.insert(f.end(), body.begin(), body.end());
    return f;
}

}  // namespace

TEST_CASE("every message type round-trips, IPv4 and IPv6", "[wire]") {
    for (const Message& m : all_messages()) {
        CAPTURE(m.index());
        const std::vector<uint8_t> bytes = encode(m);
        REQUIRE(bytes.size() >= kHeaderBytes);
        CHECK(bytes[0] == kProtocolVersion);
        const DecodeResult r = decode(bytes);
        REQUIRE(r.status == DecodeStatus::Ok);
        CHECK(r.consumed == bytes.size());
        REQUIRE(r.message);
        CHECK(same(*r.message, m));
    }
}

TEST_CASE("the header and a Register body are laid out big-endian as documented", "[wire]") {
    const std::vector<uint8_t> bytes = encode(Register{{v4_tuple(0x1234)}});
    const std::vector<uint8_t> expected = {
        2,   3,  0,   0,  0,    0,    0, 17,  // version 2, type Register, flags 0, length 17
        0,   0,  0,   1,                      // one tuple
        4,                                    // IPv4
        192, 0,  2,   10, 0x12, 0x34,         // client 192.0.2.10:4660
        198, 51, 100, 7,  0,    80,           // server 198.51.100.7:80
    };
    CHECK(bytes == expected);
}

TEST_CASE("a Report is laid out as documented", "[wire]") {
    Report r = sample_report(v6_tuple(0x0102), 3);
    const std::vector<uint8_t> bytes = encode(Reports{{r}, 0x0102030405060708ULL});
    // header 8 + sent_ns 8 + count 4 + ts 8 + tuple 37 + seq..payload_len 18 + head_len 2 +
    // head 3
    REQUIRE(bytes.size() == 8 + 8 + 4 + 8 + 37 + 18 + 2 + 3);
    CHECK(bytes[1] == static_cast<uint8_t>(MessageType::Reports));
    CHECK(bytes[8] == 0x01);  // sent_ns big-endian
    CHECK(bytes[15] == 0x08);
    CHECK(bytes[19] == 1);     // count
    CHECK(bytes[20] == 0x17);  // ts_ns big-endian: 0x17979cfe3d85cd15
    CHECK(bytes[28] == 6);     // family
    CHECK(bytes[45] == 0x01);  // client port, after 16 address bytes
    CHECK(bytes[46] == 0x02);
    const size_t seq_at = 8 + 8 + 4 + 8 + 37;
    CHECK(bytes[seq_at] == 0xff);
    CHECK(bytes[seq_at + 3] == 0xfb);
    CHECK(bytes[seq_at + 10] == (net::tcp_flags::kSyn | net::tcp_flags::kAck));
    CHECK(bytes[seq_at + 11] == 7);     // window scale
    CHECK(bytes[seq_at + 12] == 0x05);  // MSS 1460 = 0x05b4
    CHECK(bytes[seq_at + 13] == 0xb4);
    CHECK(bytes[seq_at + 18] == 0);  // head length, u16
    CHECK(bytes[seq_at + 19] == 3);
    CHECK(bytes.back() == 'C');
}

TEST_CASE("every truncation of every message needs more bytes", "[wire]") {
    for (const Message& m : all_messages()) {
        const std::vector<uint8_t> bytes = encode(m);
        for (size_t n = 0; n < bytes.size(); ++n) {
            CAPTURE(m.index(), n, bytes.size());
            const DecodeResult r = decode(std::span<const uint8_t>(bytes.data(), n));
            REQUIRE(r.status == DecodeStatus::NeedMore);
            CHECK(r.consumed == 0);
            CHECK_FALSE(r.message);
        }
    }
}

TEST_CASE("several frames in one buffer decode one after another", "[wire]") {
    std::vector<uint8_t> stream;
    const std::vector<Message> msgs = all_messages();
    for (const Message& m : msgs) {
        encode(m, stream);
    }
    std::span<const uint8_t> rest(stream);
    for (const Message& m : msgs) {
        const DecodeResult r = decode(rest);
        REQUIRE(r.status == DecodeStatus::Ok);
        CHECK(same(*r.message, m));
        rest = rest.subspan(r.consumed);
    }
    CHECK(rest.empty());
    CHECK(decode(rest).status == DecodeStatus::NeedMore);
}

TEST_CASE("FrameBuffer reassembles frames fed in pieces of every size", "[wire]") {
    std::vector<uint8_t> stream;
    const std::vector<Message> msgs = all_messages();
    for (const Message& m : msgs) {
        encode(m, stream);
    }
    for (size_t piece : {1u, 2u, 7u, 8u, 9u, 100u, 4096u}) {
        CAPTURE(piece);
        FrameBuffer fb;
        std::vector<Message> got;
        for (size_t at = 0; at < stream.size(); at += piece) {
            const size_t n = std::min(piece, stream.size() - at);
            if (piece % 2 == 0) {
                fb.append(std::span<const uint8_t>(stream.data() + at, n));
            } else {
                auto w = fb.writable(n);
                REQUIRE(w.size() >= n);
                std::copy_n(stream.data() + at, n, w.data());
                fb.commit(n);
            }
            while (true) {
                DecodeResult r = fb.next();
                if (r.status == DecodeStatus::NeedMore) {
                    break;
                }
                REQUIRE(r.status == DecodeStatus::Ok);
                got.push_back(std::move(*r.message));
            }
        }
        REQUIRE(got.size() == msgs.size());
        for (size_t i = 0; i < msgs.size(); ++i) {
            CHECK(same(got[i], msgs[i]));
        }
        CHECK(fb.buffered() == 0);
    }
}

TEST_CASE("another protocol version is refused from its first byte", "[wire]") {
    std::vector<uint8_t> bytes = encode(Ping{7});
    for (uint8_t v : {0, 3, 255}) {
        bytes[0] = v;
        CAPTURE(v);
        CHECK(decode(bytes).status == DecodeStatus::BadVersion);
        CHECK(decode(std::span<const uint8_t>(bytes.data(), 1)).status == DecodeStatus::BadVersion);
    }
}

TEST_CASE("a version-1 peer's Error is read, anything else of version 1 is refused", "[wire]") {
    // A new replayer reads an old intercept's refusal of it...
    const std::vector<uint8_t> legacy =
        frame(MessageType::Error, {0, 5, 'o', 'l', 'd', ' ', 'v'}, kLegacyVersion);
    const DecodeResult r = decode(legacy);
    REQUIRE(r.status == DecodeStatus::Ok);
    CHECK(std::get<ErrorMsg>(*r.message).reason == "old v");
    // ... and the Error a new intercept sends an old replayer is that frame.
    CHECK(encode_legacy_error("old v") == legacy);
    // An old replayer's Hello is refused.
    std::vector<uint8_t> hello = encode(Hello{kLegacyVersion, "tcpreplay2 1.0"});
    hello[0] = kLegacyVersion;
    hello.resize(hello.size() - 4);  // version 1 had no features field
    hello[7] = static_cast<uint8_t>(hello[7] - 4);
    CHECK(decode(hello).status == DecodeStatus::BadVersion);
}

TEST_CASE("an unknown message type is refused", "[wire]") {
    for (uint8_t t : {0, 11, 200}) {
        CAPTURE(t);
        std::vector<uint8_t> bytes = frame(static_cast<MessageType>(t), {1, 2, 3});
        CHECK(decode(bytes).status == DecodeStatus::BadType);
        // The header alone is enough to know.
        bytes.resize(kHeaderBytes);
        CHECK(decode(bytes).status == DecodeStatus::BadType);
    }
}

TEST_CASE("a frame longer than the limit is refused before its body arrives", "[wire]") {
    std::vector<uint8_t> bytes = frame(MessageType::Reports, {});
    const uint32_t too_long = kMaxBodyBytes + 1;
    bytes[4] = static_cast<uint8_t>(too_long >> 24);
    bytes[5] = static_cast<uint8_t>(too_long >> 16);
    bytes[6] = static_cast<uint8_t>(too_long >> 8);
    bytes[7] = static_cast<uint8_t>(too_long);
    CHECK(decode(bytes).status == DecodeStatus::BadLength);
    bytes[4] = bytes[5] = bytes[6] = bytes[7] = 0xff;
    CHECK(decode(bytes).status == DecodeStatus::BadLength);
    // Exactly the limit is a legal length: it waits for the body.
    bytes[4] = 0;
    bytes[5] = 0x10;
    bytes[6] = 0;
    bytes[7] = 0;
    CHECK(decode(bytes).status == DecodeStatus::NeedMore);
}

TEST_CASE("malformed bodies are reported as Malformed", "[wire]") {
    SECTION("a tuple count larger than the body") {
        CHECK(decode(
                  frame(MessageType::Register, {0, 0, 0, 2, 4, 1, 2, 3, 4, 0, 1, 5, 6, 7, 8, 0, 2}))
                  .status == DecodeStatus::Malformed);
        CHECK(decode(frame(MessageType::Unregister, {0xff, 0xff, 0xff, 0xff})).status ==
              DecodeStatus::Malformed);
    }
    SECTION("a report count larger than the body") {
        std::vector<uint8_t> bytes = encode(Reports{{sample_report(v4_tuple(), 4)}});
        bytes[kHeaderBytes + 8 + 3] = 2;
        CHECK(decode(bytes).status == DecodeStatus::Malformed);
        bytes[kHeaderBytes + 8] = 0x7f;
        CHECK(decode(bytes).status == DecodeStatus::Malformed);
    }
    SECTION("an unknown address family") {
        std::vector<uint8_t> bytes = encode(Register{{v4_tuple()}});
        bytes[kHeaderBytes + 4] = 5;
        CHECK(decode(bytes).status == DecodeStatus::Malformed);
    }
    SECTION("more payload bytes than the packet's payload length") {
        std::vector<uint8_t> body = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        std::vector<uint8_t> rep = encode(Reports{{sample_report(v4_tuple(), 0)}});
        body.insert(body.end(), rep.begin() + kHeaderBytes + 12, rep.end());
        body[body.size() - 2] = 1449 >> 8;  // payload_len is 1448
        body.back() = 1449 & 0xff;
        body.resize(body.size() + 1449, 'x');
        CHECK(decode(frame(MessageType::Reports, body)).status == DecodeStatus::Malformed);
    }
    SECTION("a text length past the body, or over the limit") {
        CHECK(decode(frame(MessageType::Hello, {1, 0, 5, 'a', 'b'})).status ==
              DecodeStatus::Malformed);
        CHECK(decode(frame(MessageType::Error, {0, 3, 'a', 'b'})).status ==
              DecodeStatus::Malformed);
        std::vector<uint8_t> body = {0x04, 0x01};  // 1025 bytes > kMaxTextBytes
        body.resize(2 + 1025, 'x');
        CHECK(decode(frame(MessageType::Error, body)).status == DecodeStatus::Malformed);
    }
    SECTION("trailing bytes after the body's content") {
        std::vector<uint8_t> body = {0, 0, 0, 0, 0, 0, 0, 9, 0xaa};
        CHECK(decode(frame(MessageType::Ping, body)).status == DecodeStatus::Malformed);
        CHECK(decode(frame(MessageType::HelloAck, {2, 0, 0, 0, 60, 0, 0, 0, 0, 0})).status ==
              DecodeStatus::Malformed);
    }
    SECTION("bodies too short for their fixed fields") {
        CHECK(decode(frame(MessageType::Ping, {0, 0, 0})).status == DecodeStatus::Malformed);
        CHECK(decode(frame(MessageType::HelloAck, {1})).status == DecodeStatus::Malformed);
        CHECK(decode(frame(MessageType::Hello, {})).status == DecodeStatus::Malformed);
        CHECK(decode(frame(MessageType::Reports, {0, 0})).status == DecodeStatus::Malformed);
    }
}

TEST_CASE("a FrameBuffer error is sticky", "[wire]") {
    FrameBuffer fb;
    std::vector<uint8_t> bytes = encode(Ping{1});
    bytes[1] = 99;
    fb.append(bytes);
    CHECK(fb.next().status == DecodeStatus::BadType);
    fb.append(encode(Ping{2}));
    CHECK(fb.next().status == DecodeStatus::BadType);
}

TEST_CASE("reports encoded one by one frame like a Reports message", "[wire]") {
    const Report a = sample_report(v4_tuple(1), 10);
    const Report b = sample_report(v6_tuple(2), 64);
    std::vector<uint8_t> body;
    append_report(a, body);
    append_report(b, body);
    std::vector<uint8_t> framed;
    append_reports_frame(body, 2, 99, framed);
    CHECK(framed == encode(Reports{{a, b}, 99}));
    CHECK(body.size() == 2 * kReportFixedBytes + 13 + 10 + kMaxTupleBytes + 64);
    // Limits stated in the header hold: a full frame of reports with heads fits the body limit,
    // and so does a report with a whole payload.
    CHECK(kReportsBodyOverhead +
              kMaxReportsPerFrame * (kReportFixedBytes + kMaxTupleBytes + kMaxPayloadHead) <=
          kMaxBodyBytes);
    CHECK(kReportsBodyOverhead + kMaxReportBytes <= kMaxBodyBytes);
    CHECK(4 + kMaxTuplesPerFrame * kMaxTupleBytes <= kMaxBodyBytes);
}

TEST_CASE("texts and payload heads longer than the limits are cut when encoded", "[wire]") {
    const std::string long_name(5000, 'n');
    const DecodeResult r = decode(encode(Hello{kProtocolVersion, long_name}));
    REQUIRE(r.status == DecodeStatus::Ok);
    CHECK(std::get<Hello>(*r.message).name == long_name.substr(0, kMaxTextBytes));

    // A replayer that did not ask for payloads gets the first kMaxPayloadHead bytes; one that
    // asked gets them all, up to kMaxPayloadBytes.
    Report rep = sample_report(v4_tuple(), 0);
    rep.payload_head.assign(200, 'p');
    std::vector<uint8_t> body, framed;
    append_report(rep, body);
    append_reports_frame(body, 1, 0, framed);
    const DecodeResult r2 = decode(framed);
    REQUIRE(r2.status == DecodeStatus::Ok);
    CHECK(std::get<Reports>(*r2.message).reports.at(0).payload_head.size() == kMaxPayloadHead);
    body.clear();
    framed.clear();
    append_report(rep, body, kMaxPayloadBytes);
    append_reports_frame(body, 1, 0, framed);
    const DecodeResult r3 = decode(framed);
    REQUIRE(r3.status == DecodeStatus::Ok);
    CHECK(std::get<Reports>(*r3.message).reports.at(0).payload_head.size() == 200);
    rep.payload_len = 70000;
    rep.payload_head.assign(70000, 'q');
    const DecodeResult r4 = decode(encode(Reports{{rep}}));
    REQUIRE(r4.status == DecodeStatus::Ok);
    CHECK(std::get<Reports>(*r4.message).reports.at(0).payload_head.size() == kMaxPayloadBytes);
}

TEST_CASE("tuples differing in one field hash and compare apart", "[wire]") {
    const TupleHash h;
    const Tuple a = v4_tuple(40000);
    Tuple b = a;
    b.client.port = 40001;
    Tuple c = a;
    c.server.port = 81;
    Tuple d = a;
    d.client.addr.bytes[3] ^= 1;
    CHECK_FALSE(a == b);
    CHECK_FALSE(a == c);
    CHECK_FALSE(a == d);
    CHECK(a == v4_tuple(40000));
    CHECK(h(a) == h(v4_tuple(40000)));
    CHECK(h(a) != h(b));
    CHECK(h(a) != h(c));
}

TEST_CASE("Refused, Challenge and Auth are laid out as documented; damaged ones are Malformed",
          "[wire][door]") {
    // Refused: reason 1, one IPv4 tuple 192.0.2.10:4660 -> 198.51.100.7:80.
    const std::vector<uint8_t> refused = {2, 8,   0, 0, 0,  0,    0,    18,  1,  0,   0, 0, 1,
                                          4, 192, 0, 2, 10, 0x12, 0x34, 198, 51, 100, 7, 0, 80};
    const DecodeResult r = decode(refused);
    REQUIRE(r.status == DecodeStatus::Ok);
    const auto& f = std::get<Refused>(*r.message);
    CHECK(f.reason == kRefusedHeldByOther);
    REQUIRE(f.tuples.size() == 1);
    CHECK(f.tuples[0].client.port == 4660);
    CHECK(encode(f) == refused);
    // Challenge: algorithm + 32 bytes; Auth: 32 bytes. One byte short or long: Malformed.
    std::vector<uint8_t> body(33, 0x11);
    body[0] = kAuthHmacSha256;
    CHECK(decode(frame(MessageType::Challenge, body)).status == DecodeStatus::Ok);
    body.pop_back();
    CHECK(decode(frame(MessageType::Challenge, body)).status == DecodeStatus::Malformed);
    CHECK(decode(frame(MessageType::Auth, body)).status == DecodeStatus::Ok);
    body.push_back(0);
    CHECK(decode(frame(MessageType::Auth, body)).status == DecodeStatus::Malformed);
    // A Refused whose count says more tuples than the body holds.
    CHECK(
        decode(frame(MessageType::Refused, {1, 0, 0, 0, 2, 4, 1, 2, 3, 4, 0, 1, 5, 6, 7, 8, 0, 2}))
            .status == DecodeStatus::Malformed);
}

namespace tcpr::wire {

TEST_CASE("merged reports carry their span behind a frame flag; frames without one do not",
          "[wire]") {
    Report a = sample_report(v4_tuple(1), 10);
    Report b = sample_report(v6_tuple(2), 3);
    a.span_ns = 0x01020304;  // merged; b is one segment (span 0) in the same frame
    const std::vector<uint8_t> bytes = encode(Reports{{a, b}, 99});
    CHECK(bytes[2] == 0);  // flags u16 big-endian: kFrameFlagSpans
    CHECK(bytes[3] == kFrameFlagSpans);
    const size_t first = 8 + 8 + 4 + kReportFixedBytes + 13 + 10;
    CHECK(bytes[first] == 0x01);  // span_ns after the head, big-endian
    CHECK(bytes[first + 3] == 0x04);
    CHECK(bytes.size() == 8 + 12 + 2 * (kReportFixedBytes + 4) + 13 + 10 + kMaxTupleBytes + 3);
    const DecodeResult r = decode(bytes);
    REQUIRE(r.status == DecodeStatus::Ok);
    const auto& got = std::get<Reports>(*r.message).reports;
    REQUIRE(got.size() == 2);
    CHECK(got[0].span_ns == 0x01020304);
    CHECK(got[0].payload_head == a.payload_head);
    CHECK(got[1].span_ns == 0);
    CHECK(got[1].seq == b.seq);
    // Encoded one by one (intercept's way), the same frame.
    std::vector<uint8_t> body;
    append_report(a, body, kMaxPayloadHead, true);
    append_report(b, body, kMaxPayloadHead, true);
    std::vector<uint8_t> framed;
    append_reports_frame(body, 2, 99, framed, true);
    CHECK(framed == bytes);
    // Without a merged report: no flag, no span, the layout of before.
    a.span_ns = 0;
    const std::vector<uint8_t> plain = encode(Reports{{a, b}, 99});
    CHECK(plain[3] == 0);
    CHECK(plain.size() == bytes.size() - 8);
    // Every truncation of a frame with spans needs more bytes; a cut span is never read.
    for (size_t n = 0; n < bytes.size(); ++n) {
        CHECK(decode(std::span<const uint8_t>(bytes).first(n)).status == DecodeStatus::NeedMore);
    }
    CHECK((kKnownFeatures & kFeatureMerge) != 0);
    // A frame with the flag whose spans are all 0 (merging allowed, nothing merged) decodes
    // and encodes back to the same bytes (the fuzzer's round trip).
    Reports zero{{b}, 7};
    zero.spans = true;
    const std::vector<uint8_t> flagged = encode(zero);
    CHECK(flagged[3] == kFrameFlagSpans);
    const DecodeResult z = decode(flagged);
    REQUIRE(z.status == DecodeStatus::Ok);
    CHECK(std::get<Reports>(*z.message).spans);
    CHECK(encode(*z.message) == flagged);
    // A body that ends inside the last span is malformed (found by the fuzzer).
    std::vector<uint8_t> cut(flagged.begin(), flagged.end() - 2);
    cut[7] = static_cast<uint8_t>(cut[7] - 2);  // the length, its low byte
    CHECK(decode(cut).status == DecodeStatus::Malformed);
}

}  // namespace tcpr::wire
