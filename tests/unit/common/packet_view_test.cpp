#include "common/net/packet_view.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "common/net/link_type.h"
#include "support/packet_factory.h"

using namespace tcpr;
using namespace tcpr::test;
using net::DecodeResult;
using net::LinkType;
using net::SkipReason;

namespace {

namespace f = net::tcp_flags;

// Every link type net::decode claims to support (checked against link_type_from_value below).
const std::vector<LinkType> kAllLinks = {
    LinkType::Null,     LinkType::Ethernet, LinkType::Raw,  LinkType::Loop,
    LinkType::LinuxSll, LinkType::Ipv4,     LinkType::Ipv6, LinkType::LinuxSll2,
};

bool carries(LinkType link, int family) {
    if (link == LinkType::Ipv4) {
        return family == 4;
    }
    if (link == LinkType::Ipv6) {
        return family == 6;
    }
    return true;
}

DecodeResult decode_bytes(LinkType link, const Bytes& b) {
    return net::decode(link, std::span<const uint8_t>(b.data(), b.size()));
}

// Decodes exactly the first n bytes, from a buffer of exactly n bytes (so an over-read is a
// heap overflow that ASan builds report).
DecodeResult decode_prefix(LinkType link, const Bytes& b, size_t n) {
    const Bytes cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    return net::decode(link, std::span<const uint8_t>(cut.data(), cut.size()));
}

std::string reason_of(const DecodeResult& r) {
    return r.ok() ? std::string("ok") : std::string(net::to_string(r.reason()));
}

TcpSpec sample_segment(int family) {
    TcpSpec s;
    if (family == 6) {
        s.src = "fd00::1";
        s.dst = "fd00::2";
    } else {
        s.src = "192.168.1.10";
        s.dst = "192.168.1.20";
    }
    s.sport = 51000;
    s.dport = 8080;
    s.seq = 0xfffffff0u;
    s.ack = 0x12345678u;
    s.flags = f::kAck | f::kPsh;
    s.window = 29200;
    s.payload = to_bytes("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
    return s;
}

void check_fields(const net::PacketView& v, const TcpSpec& s, const Bytes& frame,
                  size_t l3_offset) {
    const int family = net::IpAddress::parse(s.src)->version;
    CHECK(v.l3_offset == l3_offset);
    CHECK(v.src == *net::IpAddress::parse(s.src));
    CHECK(v.dst == *net::IpAddress::parse(s.dst));
    CHECK(v.src.version == family);
    CHECK(v.sport == s.sport);
    CHECK(v.dport == s.dport);
    CHECK(v.seq == s.seq);
    CHECK(v.ack == s.ack);
    CHECK(v.window == s.window);
    CHECK(v.flags == s.flags);
    CHECK(v.payload_len == s.payload.size());
    CHECK(v.captured_payload == s.payload.size());
    CHECK_FALSE(v.payload_truncated());
    CHECK(v.payload_offset == frame.size() - s.payload.size());
    CHECK(v.payload_offset == v.l4_offset + v.tcp_header_len);
    CHECK(v.ip_len == frame.size() - l3_offset);
    REQUIRE(v.payload_offset + v.captured_payload <= frame.size());
    const Bytes payload(frame.begin() + v.payload_offset,
                        frame.begin() + v.payload_offset + v.captured_payload);
    CHECK(payload == s.payload);
}

}  // namespace

TEST_CASE("the test's link list matches the decodable link types", "[net]") {
    std::vector<uint32_t> supported;
    for (uint32_t value = 0; value < 1024; ++value) {
        if (net::link_type_from_value(value)) {
            supported.push_back(value);
        }
    }
    std::vector<uint32_t> listed;
    for (LinkType l : kAllLinks) {
        listed.push_back(static_cast<uint32_t>(l));
    }
    std::sort(listed.begin(), listed.end());
    CHECK(supported == listed);
}

TEST_CASE("a TCP segment decodes on every link type, IPv4 and IPv6", "[net]") {
    // Every (link, family) pair the link can carry: Ipv4/Ipv6 links carry one family only.
    std::vector<std::pair<LinkType, int>> pairs;
    for (LinkType l : kAllLinks) {
        for (int fam : {4, 6}) {
            if (carries(l, fam)) {
                pairs.emplace_back(l, fam);
            }
        }
    }
    REQUIRE(pairs.size() == 2 * kAllLinks.size() - 2);
    const auto [link, family] = GENERATE_COPY(from_range(pairs));
    CAPTURE(net::link_type_name(static_cast<uint32_t>(link)), family);
    const TcpSpec s = sample_segment(family);
    const LinkSpec ls{link};
    const Bytes frame = make_tcp(s, ls);

    const DecodeResult r = decode_bytes(link, frame);
    REQUIRE(reason_of(r) == "ok");
    check_fields(r.packet(), s, frame, link_header_len(ls));
    CHECK(r.packet().vlan_depth == 0);
    CHECK(r.packet().tcp_header_len == 20);
    CHECK(r.packet().l4_offset == link_header_len(ls) + (family == 4 ? 20u : 40u));

    // The raw-value overload agrees.
    const DecodeResult by_value =
        net::decode(static_cast<uint32_t>(link), std::span<const uint8_t>(frame));
    REQUIRE(by_value.ok());
    CHECK(by_value.packet().seq == s.seq);
    CHECK(by_value.packet().payload_offset == r.packet().payload_offset);
}

TEST_CASE("TCP options move the payload by the data offset", "[net]") {
    TcpSpec s = sample_segment(4);
    s.flags = f::kSyn;
    s.payload.clear();
    s.mss = 1460;
    s.window_scale = 7;
    const Bytes frame = make_tcp(s);
    const DecodeResult r = decode_bytes(LinkType::Ethernet, frame);
    REQUIRE(r.ok());
    CHECK(r.packet().syn());
    CHECK_FALSE(r.packet().ack_flag());
    CHECK(r.packet().tcp_header_len > 20);
    CHECK(r.packet().tcp_header_len % 4 == 0);
    CHECK(r.packet().payload_offset == frame.size());
    CHECK(r.packet().payload_len == 0);
}

TEST_CASE("flag accessors follow the TCP flags byte", "[net]") {
    TcpSpec s = sample_segment(4);
    s.payload.clear();
    s.flags = f::kFin | f::kAck;
    auto r = decode_bytes(LinkType::Ethernet, make_tcp(s));
    REQUIRE(r.ok());
    CHECK(r.packet().fin());
    CHECK(r.packet().ack_flag());
    CHECK_FALSE(r.packet().rst());
    CHECK_FALSE(r.packet().syn());
    s.flags = f::kRst;
    r = decode_bytes(LinkType::Ethernet, make_tcp(s));
    REQUIRE(r.ok());
    CHECK(r.packet().rst());
    CHECK_FALSE(r.packet().fin());
    CHECK(r.packet().flags == f::kRst);
}

TEST_CASE("unknown link values are UnsupportedLink", "[net]") {
    const Bytes frame = make_tcp(sample_segment(4));
    const uint32_t value = GENERATE(2u, 105u, 127u, 147u, 0xffffffffu);
    CAPTURE(value);
    const DecodeResult r = net::decode(value, std::span<const uint8_t>(frame));
    REQUIRE_FALSE(r.ok());
    CHECK(r.reason() == SkipReason::UnsupportedLink);
    CHECK(net::link_type_name(value) == "LINKTYPE_" + std::to_string(value));
}

TEST_CASE("link type names and values round trip", "[net]") {
    CHECK(net::link_type_name(1) == "EN10MB");
    CHECK(net::link_type_name(113) == "LINUX_SLL");
    CHECK(net::link_type_name(276) == "LINUX_SLL2");
    for (LinkType l : kAllLinks) {
        const auto v = static_cast<uint32_t>(l);
        REQUIRE(net::link_type_from_value(v) == l);
        CHECK(net::link_type_name(v).rfind("LINKTYPE_", 0) == std::string::npos);
    }
}

TEST_CASE("802.1Q and QinQ tags are skipped and reported", "[net]") {
    const LinkType link = GENERATE(LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2);
    const int family = GENERATE(4, 6);
    CAPTURE(net::link_type_name(static_cast<uint32_t>(link)), family);
    const TcpSpec s = sample_segment(family);

    SECTION("one tag") {
        const LinkSpec ls{link, {42}};
        const Bytes frame = make_tcp(s, ls);
        const auto r = decode_bytes(link, frame);
        REQUIRE(reason_of(r) == "ok");
        check_fields(r.packet(), s, frame, link_header_len(ls));
        CHECK(r.packet().vlan_id == 42);
        CHECK(r.packet().vlan_depth == 1);
    }
    SECTION("QinQ: 802.1ad outer tag, 802.1Q inner tag; the inner VID is reported") {
        const LinkSpec ls{link, {100, 4000}};
        const Bytes frame = make_tcp(s, ls);
        const auto r = decode_bytes(link, frame);
        REQUIRE(reason_of(r) == "ok");
        check_fields(r.packet(), s, frame, link_header_len(ls));
        CHECK(r.packet().vlan_id == 4000);
        CHECK(r.packet().vlan_depth == 2);
    }
    SECTION("four tags are accepted, a fifth is Malformed") {
        const LinkSpec four{link, {1, 2, 3, 4}};
        const auto r4 = decode_bytes(link, make_tcp(s, four));
        REQUIRE(reason_of(r4) == "ok");
        CHECK(r4.packet().vlan_depth == 4);
        CHECK(r4.packet().vlan_id == 4);
        const LinkSpec five{link, {1, 2, 3, 4, 5}};
        const auto r5 = decode_bytes(link, make_tcp(s, five));
        REQUIRE_FALSE(r5.ok());
        CHECK(r5.reason() == SkipReason::Malformed);
    }
}

TEST_CASE("the pre-standard QinQ TPID 0x9100 is understood", "[net]") {
    const TcpSpec s = sample_segment(4);
    Bytes frame = make_tcp(s, LinkSpec{LinkType::Ethernet, {7, 8}});
    REQUIRE(frame[12] == 0x88);
    REQUIRE(frame[13] == 0xA8);
    frame[12] = 0x91;
    frame[13] = 0x00;
    const auto r = decode_bytes(LinkType::Ethernet, frame);
    REQUIRE(reason_of(r) == "ok");
    CHECK(r.packet().vlan_depth == 2);
    CHECK(r.packet().vlan_id == 8);
    CHECK(r.packet().seq == s.seq);
}

TEST_CASE("IPv6 extension headers are walked to TCP", "[net]") {
    using Chain = std::vector<uint8_t>;
    const Chain chain =
        GENERATE(Chain{0}, Chain{43}, Chain{60}, Chain{51}, Chain{0, 60, 43, 60}, Chain{0, 51, 60});
    size_t ext_len = 0;
    for (uint8_t h : chain) {
        ext_len += h == 51 ? 16 : 8;
    }
    CAPTURE(chain, ext_len);
    TcpSpec s = sample_segment(6);
    s.ipv6_ext_headers = chain;
    const LinkSpec ls{LinkType::Ethernet};
    const Bytes frame = make_tcp(s, ls);
    const auto r = decode_bytes(LinkType::Ethernet, frame);
    REQUIRE(reason_of(r) == "ok");
    check_fields(r.packet(), s, frame, 14);
    CHECK(r.packet().l4_offset == 14 + 40 + ext_len);
}

TEST_CASE("IPv6 headers we do not replay", "[net]") {
    TcpSpec s = sample_segment(6);
    const Bytes frame = make_tcp(s);
    const size_t l3 = 14;

    SECTION("no next header (59) is NotTcp") {
        Bytes b = frame;
        b[l3 + 6] = 59;
        const auto r = decode_bytes(LinkType::Ethernet, b);
        REQUIRE_FALSE(r.ok());
        CHECK(r.reason() == SkipReason::NotTcp);
    }
    SECTION("an extension header longer than the payload length is Malformed") {
        s.ipv6_ext_headers = {60};
        Bytes b = make_tcp(s);
        b[l3 + 40 + 1] = 200;  // (200 + 1) * 8 bytes, far past the packet's end
        const auto r = decode_bytes(LinkType::Ethernet, b);
        REQUIRE_FALSE(r.ok());
        CHECK(r.reason() == SkipReason::Malformed);
    }
    SECTION("a loop of 17 destination-options headers is Malformed, not an endless walk") {
        s.ipv6_ext_headers = std::vector<uint8_t>(17, 60);
        const auto r = decode_bytes(LinkType::Ethernet, make_tcp(s));
        REQUIRE_FALSE(r.ok());
        CHECK(r.reason() == SkipReason::Malformed);
    }
    SECTION("an IPv6 packet whose version nibble says 4 is Malformed") {
        Bytes b = frame;
        b[l3] = static_cast<uint8_t>(0x40 | (b[l3] & 0x0f));
        const auto r = decode_bytes(LinkType::Ethernet, b);
        REQUIRE_FALSE(r.ok());
        CHECK(r.reason() == SkipReason::Malformed);
    }
}

TEST_CASE("IPv4 options move the TCP header by the IHL", "[net]") {
    const Bytes opts = GENERATE(Bytes{1, 1, 1, 0}, Bytes{0x94, 0x04, 0x00, 0x00},
                                Bytes(40, 1));  // NOPs; router alert; 40 bytes (IHL 15)
    CAPTURE(opts.size());
    TcpSpec s = sample_segment(4);
    s.ipv4_options = opts;
    const Bytes frame = make_tcp(s);
    const auto r = decode_bytes(LinkType::Ethernet, frame);
    REQUIRE(reason_of(r) == "ok");
    check_fields(r.packet(), s, frame, 14);
    CHECK(r.packet().l4_offset == 14 + 20 + opts.size());
}

TEST_CASE("IP fragments are skipped as Fragment", "[net]") {
    TcpSpec s = sample_segment(4);
    s.payload = pattern_bytes(100);

    SECTION("IPv4: first, middle and last fragment") {
        const auto frags = make_ipv4_fragments(s, 48);
        REQUIRE(frags.size() == 3);  // 20 + 100 bytes of TCP in 48-byte pieces
        for (size_t i = 0; i < frags.size(); ++i) {
            CAPTURE(i);
            const auto r = decode_bytes(LinkType::Ethernet, frags[i]);
            REQUIRE_FALSE(r.ok());
            CHECK(r.reason() == SkipReason::Fragment);
        }
    }
    SECTION("IPv4 non-TCP fragments are Fragment too (the protocol is known, the port is not)") {
        auto frags = make_ipv4_fragments(s, 48);
        Bytes b = frags[1];
        b[14 + 9] = 17;
        const auto r = decode_bytes(LinkType::Ethernet, b);
        REQUIRE_FALSE(r.ok());
        CHECK(r.reason() == SkipReason::Fragment);
    }
    SECTION("IPv4 DF is not a fragment") {
        Bytes b = make_tcp(s);
        b[14 + 6] = 0x40;  // DF, offset 0
        b[14 + 7] = 0x00;
        const auto r = decode_bytes(LinkType::Ethernet, b);
        REQUIRE(reason_of(r) == "ok");
        CHECK(r.packet().payload_len == 100);
    }
    SECTION("IPv6: every fragment carries a fragment header") {
        TcpSpec s6 = sample_segment(6);
        s6.payload = pattern_bytes(100);
        const auto frags = make_ipv6_fragments(s6, 48);
        REQUIRE(frags.size() == 3);
        for (size_t i = 0; i < frags.size(); ++i) {
            CAPTURE(i);
            const auto r = decode_bytes(LinkType::Ethernet, frags[i]);
            REQUIRE_FALSE(r.ok());
            CHECK(r.reason() == SkipReason::Fragment);
        }
    }
    SECTION("IPv6: a fragment header after other extension headers") {
        TcpSpec s6 = sample_segment(6);
        s6.ipv6_ext_headers = {0, 44};
        const auto r = decode_bytes(LinkType::Ethernet, make_tcp(s6));
        REQUIRE_FALSE(r.ok());
        CHECK(r.reason() == SkipReason::Fragment);
    }
}

TEST_CASE("a frame cut at every length is Truncated or decodes", "[net]") {
    struct Case {
        std::string name;
        LinkType link;
        Bytes frame;
    };
    TcpSpec v4 = sample_segment(4);
    v4.ipv4_options = {1, 1, 1, 0};
    v4.mss = 1400;
    TcpSpec v6 = sample_segment(6);
    v6.ipv6_ext_headers = {0, 51, 60};
    v6.window_scale = 3;
    TcpSpec tso = sample_segment(4);
    tso.mss = 1400;
    tso.ipv4_options = {1, 1, 1, 0};
    tso.zero_ip_total_length = true;
    tso.zero_checksums = true;
    TcpSpec gso6 = v6;
    gso6.zero_ip_total_length = true;
    const std::vector<Case> cases = {
        {"ethernet ipv4 options", LinkType::Ethernet, make_tcp(v4)},
        {"qinq ipv4", LinkType::Ethernet, make_tcp(v4, {LinkType::Ethernet, {10, 20}})},
        {"sll ipv4 vlan", LinkType::LinuxSll, make_tcp(v4, {LinkType::LinuxSll, {5}})},
        {"sll2 ipv6 ext", LinkType::LinuxSll2, make_tcp(v6, {LinkType::LinuxSll2})},
        {"null ipv6", LinkType::Null, make_tcp(v6, {LinkType::Null})},
        {"loop ipv4", LinkType::Loop, make_tcp(v4, {LinkType::Loop})},
        {"raw ipv4", LinkType::Raw, make_tcp(v4, {LinkType::Raw})},
        {"ipv6 link", LinkType::Ipv6, make_tcp(v6, {LinkType::Ipv6})},
        {"tso total length 0", LinkType::Ethernet, make_tcp(tso)},
        {"gso ipv6 payload length 0", LinkType::Ethernet, make_tcp(gso6)},
    };
    for (const Case& c : cases) {
        CAPTURE(c.name);
        const auto full = decode_bytes(c.link, c.frame);
        REQUIRE(reason_of(full) == "ok");
        const net::PacketView whole = full.packet();
        REQUIRE(whole.captured_payload > 0);
        // A frame whose IP length is 0 takes its length from the capture, so a cut frame
        // reports a shorter payload rather than a truncated one.
        const bool length_from_frame = c.name.find("length 0") != std::string::npos;
        for (size_t n = 0; n < c.frame.size(); ++n) {
            CAPTURE(n);
            const auto r = decode_prefix(c.link, c.frame, n);
            if (n < whole.payload_offset) {
                REQUIRE(reason_of(r) == "truncated");
                continue;
            }
            REQUIRE(reason_of(r) == "ok");
            const net::PacketView& v = r.packet();
            CHECK(v.payload_offset == whole.payload_offset);
            CHECK(v.seq == whole.seq);
            CHECK(v.captured_payload == n - whole.payload_offset);
            if (length_from_frame) {
                CHECK(v.payload_len == v.captured_payload);
            } else {
                CHECK(v.payload_len == whole.payload_len);
                CHECK(v.payload_truncated());
            }
        }
    }
}

TEST_CASE("TSO/GSO captures decode: big segments, zero checksums, zero IP length", "[net]") {
    const size_t size = GENERATE(size_t{20000}, size_t{40000}, size_t{65495}, size_t{100000});
    const bool zero_len = size > 65495 ? true : GENERATE(false, true);
    CAPTURE(size, zero_len);
    TcpSpec s = sample_segment(4);
    s.payload = pattern_bytes(size, 3);
    s.zero_checksums = true;
    s.zero_ip_total_length = zero_len;
    const Bytes frame = make_tcp(s);
    // The IP and TCP checksum fields really are zero.
    REQUIRE(frame[14 + 10] == 0);
    REQUIRE(frame[14 + 11] == 0);
    REQUIRE(frame[14 + 20 + 16] == 0);
    REQUIRE(frame[14 + 20 + 17] == 0);
    const auto r = decode_bytes(LinkType::Ethernet, frame);
    REQUIRE(reason_of(r) == "ok");
    CHECK(r.packet().payload_len == size);
    CHECK(r.packet().captured_payload == size);
    CHECK(r.packet().ip_len == size + 40);
    CHECK(r.packet().seq == s.seq);
}

TEST_CASE("IPv6 GSO capture with payload length 0 decodes to the frame's end", "[net]") {
    TcpSpec s = sample_segment(6);
    s.payload = pattern_bytes(30000);
    s.zero_ip_total_length = true;
    const auto r = decode_bytes(LinkType::LinuxSll2, make_tcp(s, {LinkType::LinuxSll2}));
    REQUIRE(reason_of(r) == "ok");
    CHECK(r.packet().payload_len == 30000);
}

TEST_CASE("Ethernet padding after a short packet is not payload", "[net]") {
    TcpSpec s = sample_segment(4);
    s.payload.clear();
    Bytes frame = make_tcp(s);
    REQUIRE(frame.size() == 54);
    frame.resize(60, 0);  // minimum Ethernet frame
    const auto r = decode_bytes(LinkType::Ethernet, frame);
    REQUIRE(reason_of(r) == "ok");
    CHECK(r.packet().payload_len == 0);
    CHECK(r.packet().captured_payload == 0);
    CHECK(r.packet().ip_len == 40);
}

TEST_CASE("inconsistent IP/TCP header fields are Malformed", "[net]") {
    const TcpSpec s = sample_segment(4);
    const Bytes good = make_tcp(s);
    const size_t l3 = 14;
    const size_t l4 = l3 + 20;
    Bytes b = good;
    SECTION("IHL below 5") {
        const uint8_t ihl = GENERATE(0, 1, 4);
        b[l3] = static_cast<uint8_t>(0x40 | ihl);
    }
    SECTION("IHL beyond the total length") {
        b[l3 + 2] = 0;
        b[l3 + 3] = 20;  // total 20 with IHL 24
        b[l3] = 0x46;
    }
    SECTION("total length too short for a TCP header") {
        b[l3 + 2] = 0;
        b[l3 + 3] = 30;
    }
    SECTION("TCP data offset below 5") {
        const uint8_t doff = GENERATE(0, 1, 4);
        b[l4 + 12] = static_cast<uint8_t>(doff << 4);
    }
    SECTION("TCP data offset beyond the IP packet") {
        b[l3 + 2] = 0;
        b[l3 + 3] = 44;  // IP says 20 + 24 bytes; TCP claims 60 bytes of header
        b[l4 + 12] = 0xf0;
    }
    SECTION("ethertype IPv4 carrying an IPv6 header") { b[l3] = 0x65; }
    const auto r = decode_bytes(LinkType::Ethernet, b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.reason() == SkipReason::Malformed);
}

TEST_CASE("IP traffic other than TCP is NotTcp", "[net]") {
    const int family = GENERATE(4, 6);
    const LinkType link = GENERATE(LinkType::Ethernet, LinkType::Raw, LinkType::LinuxSll2);
    CAPTURE(family, net::link_type_name(static_cast<uint32_t>(link)));
    UdpSpec u;
    if (family == 6) {
        u.src = "2001:db8::1";
        u.dst = "2001:db8::2";
    }
    u.payload = to_bytes("dns?");
    const auto r = decode_bytes(link, make_udp(u, {link}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.reason() == SkipReason::NotTcp);
    if (family == 4) {
        const auto icmp = decode_bytes(link, make_icmp_echo("10.1.1.1", "10.1.1.2", {link}));
        REQUIRE_FALSE(icmp.ok());
        CHECK(icmp.reason() == SkipReason::NotTcp);
    }
}

TEST_CASE("link payloads other than IP are NotIp", "[net]") {
    SECTION("ARP on every link that can carry it") {
        const LinkType link = GENERATE(LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2);
        const std::vector<uint16_t> vlans =
            GENERATE(std::vector<uint16_t>{}, std::vector<uint16_t>{9});
        CAPTURE(net::link_type_name(static_cast<uint32_t>(link)), vlans.size());
        const auto r = decode_bytes(link, make_arp("10.0.0.1", "10.0.0.2", {link, vlans}));
        REQUIRE_FALSE(r.ok());
        CHECK(r.reason() == SkipReason::NotIp);
    }
    SECTION("LLDP ethertype") {
        Bytes b = make_tcp(sample_segment(4));
        b[12] = 0x88;
        b[13] = 0xcc;
        const auto r = decode_bytes(LinkType::Ethernet, b);
        REQUIRE_FALSE(r.ok());
        CHECK(r.reason() == SkipReason::NotIp);
    }
    SECTION("raw link whose first nibble is neither 4 nor 6") {
        Bytes b = make_tcp(sample_segment(4), {LinkType::Raw});
        b[0] = 0x55;
        const auto r = decode_bytes(LinkType::Raw, b);
        REQUIRE_FALSE(r.ok());
        CHECK(r.reason() == SkipReason::NotIp);
    }
}

TEST_CASE("empty and tiny frames never decode", "[net]") {
    const LinkType link = GENERATE(from_range(kAllLinks));
    CAPTURE(net::link_type_name(static_cast<uint32_t>(link)));
    const Bytes empty;
    const auto r = decode_bytes(link, empty);
    REQUIRE_FALSE(r.ok());
    CHECK(r.reason() == SkipReason::Truncated);
    const Bytes zeros(64, 0);
    const auto z = decode_bytes(link, zeros);
    CHECK_FALSE(z.ok());
}

TEST_CASE("skip reasons have stable distinct names", "[net]") {
    std::vector<std::string> names;
    for (int i = 0; i < net::kSkipReasonCount; ++i) {
        names.emplace_back(net::to_string(static_cast<SkipReason>(i)));
        CHECK_FALSE(names.back().empty());
    }
    std::sort(names.begin(), names.end());
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
    CHECK(std::string(net::to_string(SkipReason::Truncated)) == "truncated");
}
