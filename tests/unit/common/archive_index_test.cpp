// The session index: what the writer records about sessions, frames and totals, how compact it
// is, and that info() needs nothing but the trailer and the index.
#include <mutex>

#include <catch2/catch.hpp>
#include <zstd.h>

#include "archive_test_util.h"
#include "common/archive/archive_reader.h"
#include "common/archive/archive_writer.h"
#include "common/archive/session_index.h"
#include "common/net/ip_address.h"

using namespace tcpr::archive;
using namespace tcpr::archive::test;
namespace sf = tcpr::session::session_flags;
using tcpr::net::Endpoint;
using tcpr::net::IpAddress;

namespace {

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;
constexpr uint64_t kMs = 1'000'000;

Endpoint v4(const char* a, uint16_t port) { return Endpoint{*IpAddress::parse(a), port}; }

void add(ArchiveWriter& w, uint64_t ts, const Bytes& b) {
    w.add(ts, static_cast<uint32_t>(b.size()), b);
}

// Three sessions over four data frames (flush() places the frame boundaries):
//   A 10.0.0.1:40000 -> 10.0.0.2:80  SYN ... FIN, frames 0, 1, 3
//   B 10.0.0.3:40001 -> 10.0.0.2:80  SYN, RST from the server, frames 1, 2
//   C [2001:db8::1]:50000 <-> [2001:db8::2]:443, no SYN, IPv6, frame 2
// plus one UDP and one ARP packet that are stored but not indexed.
Bytes known_capture() {
    const uint32_t a = 0x0a000001, s = 0x0a000002, b = 0x0a000003;
    VectorSink sink;
    WriterOptions opt = small_frames(1 << 20);
    opt.server_port = 80;
    opt.source = "live eth0 'tcp port 80'";
    ArchiveWriter w(sink, opt);
    add(w, kT0 + 0 * kMs, ipv4_tcp(a, s, Tcp{40000, 80, 100, 0, kSyn, ""}));
    add(w, kT0 + 1 * kMs, ipv4_tcp(s, a, Tcp{80, 40000, 900, 101, kSyn | kAck, ""}));
    add(w, kT0 + 2 * kMs, ipv4_tcp(a, s, Tcp{40000, 80, 101, 901, kAck, ""}));
    add(w, kT0 + 3 * kMs,
        ipv4_tcp(a, s, Tcp{40000, 80, 101, 901, kAck | kPsh, "GET / HTTP/1.1\r\n\r\n"}));
    w.flush();
    add(w, kT0 + 10 * kMs, ipv4_tcp(b, s, Tcp{40001, 80, 5000, 0, kSyn, ""}));
    add(w, kT0 + 11 * kMs, ipv4_tcp(s, a, Tcp{80, 40000, 901, 119, kAck, std::string(100, 'x')}));
    add(w, kT0 + 12 * kMs, ipv4_udp(a, s));
    w.flush();
    add(w, kT0 + 20 * kMs, ipv6_tcp(2, 1, Tcp{443, 50000, 7, 8, kAck, std::string(50, 'y')}));
    add(w, kT0 + 21 * kMs, ipv6_tcp(1, 2, Tcp{50000, 443, 8, 57, kAck, ""}));
    add(w, kT0 + 22 * kMs, ipv4_tcp(s, b, Tcp{80, 40001, 0, 5001, kRst | kAck, ""}));
    add(w, kT0 + 23 * kMs, arp());
    w.flush();
    add(w, kT0 + 30 * kMs, ipv4_tcp(a, s, Tcp{40000, 80, 119, 1001, kFin | kAck, ""}));
    add(w, kT0 + 31 * kMs, ipv4_tcp(s, a, Tcp{80, 40000, 1001, 120, kFin | kAck, ""}));
    add(w, kT0 + 32 * kMs, ipv4_tcp(a, s, Tcp{40000, 80, 120, 1002, kAck, ""}));
    w.finish({12, 3});
    return sink.data();
}

// Records every read, to prove which parts of the file were touched.
class RecordingSource final : public ByteSource {
  public:
    explicit RecordingSource(const Bytes& b) : inner_(b) {}
    uint64_t size() const override { return inner_.size(); }
    size_t read_at(uint64_t offset, std::span<uint8_t> out) const override {
        std::lock_guard lock(mu_);
        reads_.push_back({offset, out.size()});
        return inner_.read_at(offset, out);
    }
    std::vector<std::pair<uint64_t, uint64_t>> reads() const {
        std::lock_guard lock(mu_);
        return reads_;
    }

  private:
    SpanSource inner_;
    mutable std::mutex mu_;
    mutable std::vector<std::pair<uint64_t, uint64_t>> reads_;
};

}  // namespace

TEST_CASE("the index describes each session: endpoints, times, counts, flags and frames",
          "[archive]") {
    const Bytes file = known_capture();
    SpanSource src(file);
    ArchiveReader reader(src, "known.pcap.zst");
    const ArchiveInfo& info = reader.info();

    REQUIRE(info.sessions.size() == 3);
    const auto& a = info.sessions[0];
    CHECK(a.client == v4("10.0.0.1", 40000));
    CHECK(a.server == v4("10.0.0.2", 80));
    CHECK(a.first_ns == kT0);
    CHECK(a.last_ns == kT0 + 32 * kMs);
    CHECK(a.packets_c2s == 5);
    CHECK(a.packets_s2c == 3);
    CHECK(a.bytes_c2s == 18);
    CHECK(a.bytes_s2c == 100);
    CHECK(a.flags == (sf::kSynSeen | sf::kSynAckSeen | sf::kFinSeen | sf::kClientFromSyn));
    CHECK(a.frames == std::vector<uint32_t>{0, 1, 3});

    const auto& b = info.sessions[1];
    CHECK(b.client == v4("10.0.0.3", 40001));
    CHECK(b.server == v4("10.0.0.2", 80));
    CHECK(b.first_ns == kT0 + 10 * kMs);
    CHECK(b.last_ns == kT0 + 22 * kMs);
    CHECK(b.packets_c2s == 1);
    CHECK(b.packets_s2c == 1);
    CHECK(b.bytes_c2s == 0);
    CHECK(b.flags == (sf::kSynSeen | sf::kRstSeen | sf::kClientFromSyn));
    CHECK(b.frames == std::vector<uint32_t>{1, 2});

    const auto& c = info.sessions[2];
    CHECK(c.client.to_string() == "[2001:db8::1]:50000");
    CHECK(c.server.to_string() == "[2001:db8::2]:443");
    CHECK(c.client.addr.version == 6);
    CHECK(c.first_ns == kT0 + 20 * kMs);
    CHECK(c.last_ns == kT0 + 21 * kMs);
    CHECK(c.packets_c2s == 1);
    CHECK(c.packets_s2c == 1);
    CHECK(c.bytes_c2s == 0);
    CHECK(c.bytes_s2c == 50);
    CHECK(c.flags == 0);
    CHECK(c.frames == std::vector<uint32_t>{2});
}

TEST_CASE("the index holds the capture's totals, frame table and provenance", "[archive]") {
    const Bytes file = known_capture();
    SpanSource src(file);
    ArchiveReader reader(src, "known.pcap.zst");
    const ArchiveInfo& info = reader.info();
    CHECK(info.format_version == 1);
    CHECK(info.format_minor == 0);
    CHECK(info.link_type == 1);
    CHECK(info.snaplen == 262144);
    CHECK(info.server_port == 80);
    CHECK(info.source == "live eth0 'tcp port 80'");
    CHECK(info.writer == "tcprec " TCPR_VERSION);
    CHECK(info.packets == 14);
    CHECK(info.indexed == 12);
    CHECK(info.not_indexed.of(tcpr::net::SkipReason::NotTcp) == 1);
    CHECK(info.not_indexed.of(tcpr::net::SkipReason::NotIp) == 1);
    CHECK(info.not_indexed.total() == 2);
    CHECK(info.first_ns == kT0);
    CHECK(info.last_ns == kT0 + 32 * kMs);
    CHECK(info.kernel_drops == 12);
    CHECK(info.interface_drops == 3);
    CHECK(info.file_bytes == file.size());
    CHECK(info.pcap_bytes == zstd_dc(file).size());
    CHECK(info.data_bytes == layout(file).index_offset);

    REQUIRE(info.frames.size() == 4);
    const std::vector<uint32_t> packets = {4, 3, 4, 3};
    const std::vector<uint64_t> first = {0, 10, 20, 30}, last = {3, 12, 23, 32};
    const std::vector<RawFrame> raw = data_frames(file);
    REQUIRE(raw.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
        INFO("frame " << i);
        CHECK(info.frames[i].packets == packets[i]);
        CHECK(info.frames[i].first_ns == kT0 + first[i] * kMs);
        CHECK(info.frames[i].last_ns == kT0 + last[i] * kMs);
        CHECK(info.frames[i].offset == raw[i].offset);
        CHECK(info.frames[i].compressed == raw[i].size);
    }
    CHECK(verify_archive(src, "known.pcap.zst").clean());
}

TEST_CASE("records name the data frame they are stored in", "[archive]") {
    const Bytes file = known_capture();
    SpanSource src(file);
    ArchiveReader reader(src, "known.pcap.zst");
    std::vector<uint32_t> frames;
    reader.for_each_record([&](const Record& r) {
        frames.push_back(r.frame);
        return true;
    });
    CHECK(frames == std::vector<uint32_t>{0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3});
}

TEST_CASE("opening an archive reads only the trailer and the index, never the data frames",
          "[archive]") {
    const Bytes file = write_archive(mixed_records(2000), small_frames(8192));
    RecordingSource src(file);
    ArchiveReader reader(src, "t");
    REQUIRE(reader.info().frames.size() > 20);
    const uint64_t data_begin = reader.info().frames.front().offset;
    const uint64_t data_end = reader.info().data_bytes;
    const auto reads = src.reads();
    CHECK(reads.size() <= 3);  // sniff of the first bytes, trailer, index
    for (const auto& [off, len] : reads) {
        INFO("read at " << off << " of " << len);
        CHECK((off + len <= data_begin || off >= data_end));
    }
}

TEST_CASE("the index stays small: a few bytes per session and per frame", "[archive]") {
    // 20000 short connections (SYN, SYN-ACK, FIN, FIN) from many clients.
    VectorSink sink;
    WriterOptions opt;  // defaults: 1 MiB frames
    ArchiveWriter w(sink, opt);
    Rng rng;
    uint64_t ts = kT0;
    for (uint32_t i = 0; i < 20000; ++i) {
        const uint32_t client = 0x0a000000 + rng.below(60000);
        const auto port = static_cast<uint16_t>(1024 + rng.below(60000));
        const uint32_t isn = static_cast<uint32_t>(rng.next());
        add(w, ts += 50'000, ipv4_tcp(client, 0x0a640001, Tcp{port, 80, isn, 0, kSyn, ""}));
        add(w, ts += 50'000,
            ipv4_tcp(0x0a640001, client, Tcp{80, port, 7, isn + 1, kSyn | kAck, ""}));
        add(w, ts += 50'000,
            ipv4_tcp(client, 0x0a640001, Tcp{port, 80, isn + 1, 8, kFin | kAck, ""}));
        add(w, ts += 50'000,
            ipv4_tcp(0x0a640001, client, Tcp{80, port, 8, isn + 2, kFin | kAck, ""}));
    }
    w.finish();
    const Layout l = layout(sink.data());
    SpanSource src(sink.data());
    ArchiveReader reader(src, "t");
    REQUIRE(reader.info().sessions.size() == 20000);
    INFO("index bytes: " << l.index_size << ", file bytes: " << sink.data().size());
    CHECK(l.index_size < 20000 * 12);
}

TEST_CASE("the archive is at most 1.1x the size of zstd -3 over the same pcap", "[archive]") {
    // HTTP-like traffic: 5000 request/response exchanges, varied paths, ids and bodies.
    Rng rng;
    std::vector<Rec> recs;
    uint64_t ts = kT0;
    const char* paths[] = {"/", "/api/v1/users", "/static/app.js", "/images/logo.png",
                           "/api/v1/orders?page="};
    for (uint32_t i = 0; i < 5000; ++i) {
        const uint32_t client = 0x0a000000 + rng.below(500);
        const auto port = static_cast<uint16_t>(1024 + rng.below(60000));
        std::string req =
            std::string("GET ") + paths[rng.below(5)] + std::to_string(rng.below(100)) +
            " HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/7." +
            std::to_string(rng.below(90)) + "\r\nX-Request-Id: " + std::to_string(rng.next()) +
            "\r\nAccept: */*\r\n\r\n";
        std::string body;
        const uint32_t len = 200 + rng.below(2500);
        while (body.size() < len) {
            body += "{\"id\":" + std::to_string(rng.below(1000000)) + ",\"name\":\"item" +
                    std::to_string(rng.below(5000)) +
                    "\",\"price\":" + std::to_string(rng.below(100000)) + "},";
        }
        std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body;
        const Bytes q = ipv4_tcp(client, 0x0a640001, Tcp{port, 80, i, 1, kAck | kPsh, req});
        recs.push_back(Rec{ts += 150'000, static_cast<uint32_t>(q.size()), q});
        for (size_t off = 0; off < resp.size(); off += 1448) {
            const Bytes r = ipv4_tcp(
                0x0a640001, client,
                Tcp{80, port, static_cast<uint32_t>(off), i, kAck, resp.substr(off, 1448)});
            recs.push_back(Rec{ts += 20'000, static_cast<uint32_t>(r.size()), r});
        }
    }
    WriterOptions opt;  // production defaults: 1 MiB frames, 1 s span, level 3
    // ... and frames closed early (by time, on a slower link): 200 KiB is in the size band
    // where zstd's own level tables would pick weaker parameters.
    opt.frame_bytes = GENERATE(1u << 20, 200u << 10);
    CAPTURE(opt.frame_bytes);
    const Bytes file = write_archive(recs, opt);
    const Bytes pcap = zstd_dc(file);
    Bytes whole(ZSTD_compressBound(pcap.size()));
    const size_t n = ZSTD_compress(whole.data(), whole.size(), pcap.data(), pcap.size(), 3);
    REQUIRE(!ZSTD_isError(n));
    INFO("pcap " << pcap.size() << " B, zstd -3 " << n << " B, archive " << file.size() << " B");
    REQUIRE(pcap.size() > 8'000'000);
    CHECK(static_cast<double>(file.size()) <= 1.1 * static_cast<double>(n));
}

TEST_CASE("index encoding round-trips IPv6, frame runs and several session blocks", "[archive]") {
    ArchiveInfo in;
    in.link_type = 113;
    in.snaplen = 65535;
    in.server_port = 6379;
    in.source = "import 'x.pcapng'";
    in.writer = "tcprec 9.9";
    in.data_bytes = 123456;
    in.packets = 40000;
    in.indexed = 39000;
    in.pcap_bytes = 9999999;
    in.first_ns = 5;
    in.last_ns = 1'900'000'000'000'000'000ull;
    in.kernel_drops = 1;
    in.interface_drops = 2;
    in.not_indexed.count(tcpr::net::SkipReason::Fragment);
    for (uint32_t i = 0; i < 50; ++i) {
        // Timestamps not monotonic across frames (zigzag deltas).
        in.frames.push_back(FrameEntry{100 + i * 1000ull, 1000, 40000 + i, 2000 + i,
                                       i % 2 == 0 ? 1000ull + i : 900ull + i, 5000ull + i});
    }
    std::vector<tcpr::session::SessionSummary> sessions;
    for (uint32_t i = 0; i < 20000; ++i) {
        tcpr::session::SessionSummary s;
        s.client = i % 3 == 0 ? Endpoint{*IpAddress::parse("2001:db8::" + std::to_string(i % 9999)),
                                         static_cast<uint16_t>(i)}
                              : Endpoint{IpAddress::v4(0x0a000000 + i), static_cast<uint16_t>(i)};
        s.server = i % 3 == 0 ? Endpoint{*IpAddress::parse("2001:db8::ffff"), 443}
                              : Endpoint{IpAddress::v4(0x0a640001), 80};
        s.first_ns = 1000 + (i % 7) * 100;  // goes back and forth
        s.last_ns = s.first_ns + i;
        s.packets_c2s = 4;
        s.packets_s2c = 3 + i;
        s.bytes_c2s = i * 10;
        s.bytes_s2c = uint64_t{i} << 30;
        s.flags = static_cast<uint8_t>(i & 0x3f);
        s.frames = i % 4 == 0   ? std::vector<uint32_t>{0, 1, 2, 3, 10, 11, 49}
                   : i % 4 == 1 ? std::vector<uint32_t>{}
                                : std::vector<uint32_t>{static_cast<uint32_t>(i % 50)};
        sessions.push_back(s);
    }
    ZstdCompressor c(3);
    const Bytes region = encode_index(in, sessions, c);
    ArchiveInfo out;
    ZstdDecompressor d;
    decode_index(region, out, d);
    CHECK(out.link_type == 113);
    CHECK(out.snaplen == 65535);
    CHECK(out.server_port == 6379);
    CHECK(out.source == in.source);
    CHECK(out.writer == in.writer);
    CHECK(out.data_bytes == in.data_bytes);
    CHECK(out.packets == in.packets);
    CHECK(out.indexed == in.indexed);
    CHECK(out.pcap_bytes == in.pcap_bytes);
    CHECK(out.first_ns == in.first_ns);
    CHECK(out.last_ns == in.last_ns);
    CHECK(out.kernel_drops == 1);
    CHECK(out.interface_drops == 2);
    CHECK(out.not_indexed.by_reason == in.not_indexed.by_reason);
    CHECK(out.frames == in.frames);
    REQUIRE(out.sessions.size() == sessions.size());
    for (size_t i = 0; i < sessions.size(); ++i) {
        INFO("session " << i);
        const auto& x = sessions[i];
        const auto& y = out.sessions[i];
        REQUIRE(y.client == x.client);
        REQUIRE(y.server == x.server);
        REQUIRE(y.first_ns == x.first_ns);
        REQUIRE(y.last_ns == x.last_ns);
        REQUIRE(y.packets_c2s == x.packets_c2s);
        REQUIRE(y.packets_s2c == x.packets_s2c);
        REQUIRE(y.bytes_c2s == x.bytes_c2s);
        REQUIRE(y.bytes_s2c == x.bytes_s2c);
        REQUIRE(y.flags == x.flags);
        REQUIRE(y.frames == x.frames);
    }
}
