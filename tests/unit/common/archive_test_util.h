// Helpers shared by the archive tests: inline packet builders, in-memory archives, an
// independent frame walker and pcap parser (so the tests do not trust the code under test to
// check itself), and byte-damage helpers in the leveldb log_test.cc style.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <zstd.h>

#include "common/archive/archive_reader.h"
#include "common/archive/archive_writer.h"
#include "common/archive/byte_io.h"

namespace tcpr::archive::test {

using Bytes = std::vector<uint8_t>;

// --- packets -------------------------------------------------------------------------------

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

inline void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}

struct Tcp {
    uint16_t sport = 0, dport = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = kAck;
    std::string payload;
};

inline void append_tcp(Bytes& b, const Tcp& t) {
    put16(b, t.sport);
    put16(b, t.dport);
    put32(b, t.seq);
    put32(b, t.ack);
    b.push_back(0x50);  // data offset 5 words
    b.push_back(t.flags);
    put16(b, 65535);  // window
    put16(b, 0);      // checksum (not verified)
    put16(b, 0);      // urgent
    b.insert(b.end(), t.payload.begin(), t.payload.end());
}

inline void append_ethernet(Bytes& b, uint16_t ethertype) {
    const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
    b.insert(b.end(), macs, macs + 12);
    put16(b, ethertype);
}

// Ethernet + IPv4 + TCP. Addresses in host order (0x0a000001 = 10.0.0.1).
inline Bytes ipv4_tcp(uint32_t src, uint32_t dst, const Tcp& t) {
    Bytes b;
    append_ethernet(b, 0x0800);
    b.push_back(0x45);
    b.push_back(0);
    put16(b, static_cast<uint16_t>(20 + 20 + t.payload.size()));
    put16(b, 1);       // id
    put16(b, 0x4000);  // DF
    b.push_back(64);
    b.push_back(6);
    put16(b, 0);
    put32(b, src);
    put32(b, dst);
    append_tcp(b, t);
    return b;
}

// Ethernet + IPv6 + TCP. Addresses: 2001:db8::<low> (low in the last two bytes).
inline Bytes ipv6_tcp(uint16_t src_low, uint16_t dst_low, const Tcp& t) {
    Bytes b;
    append_ethernet(b, 0x86DD);
    put32(b, 0x60000000);
    put16(b, static_cast<uint16_t>(20 + t.payload.size()));
    b.push_back(6);   // next header TCP
    b.push_back(64);  // hop limit
    for (uint16_t low : {src_low, dst_low}) {
        put32(b, 0x20010db8);
        put32(b, 0);
        put32(b, 0);
        put32(b, low);
    }
    append_tcp(b, t);
    return b;
}

inline Bytes ipv4_udp(uint32_t src, uint32_t dst) {
    Bytes b;
    append_ethernet(b, 0x0800);
    b.push_back(0x45);
    b.push_back(0);
    put16(b, 28);
    put16(b, 1);
    put16(b, 0);
    b.push_back(64);
    b.push_back(17);  // UDP
    put16(b, 0);
    put32(b, src);
    put32(b, dst);
    put16(b, 5353);
    put16(b, 53);
    put16(b, 8);
    put16(b, 0);
    return b;
}

inline Bytes arp() {
    Bytes b;
    append_ethernet(b, 0x0806);
    b.resize(b.size() + 28, 0);
    return b;
}

// --- records and archives ------------------------------------------------------------------

struct Rec {
    uint64_t ts_ns = 0;
    uint32_t orig_len = 0;
    Bytes bytes;
    bool operator==(const Rec&) const = default;
};

// Deterministic generator (xorshift), so every run builds the same captures.
struct Rng {
    uint64_t s = 0x9E3779B97F4A7C15ull;
    uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    uint32_t below(uint32_t n) { return static_cast<uint32_t>(next() % n); }
};

// `n` TCP records of mixed sizes on a few connections, timestamps 1 ms apart from t0.
inline std::vector<Rec> mixed_records(size_t n, uint64_t t0 = 1'700'000'000'000'000'000ull) {
    std::vector<Rec> out;
    Rng rng;
    for (size_t i = 0; i < n; ++i) {
        Tcp t;
        t.sport = static_cast<uint16_t>(40000 + i % 7);
        t.dport = 80;
        t.seq = static_cast<uint32_t>(i * 1000);
        t.payload.assign(rng.below(1200), 'a' + static_cast<char>(i % 26));
        Rec r;
        r.ts_ns = t0 + i * 1'000'000 + rng.below(1000);
        r.bytes = ipv4_tcp(0x0a000001, 0x0a000002, t);
        r.orig_len = static_cast<uint32_t>(r.bytes.size() + (i % 5 == 0 ? 100 : 0));
        out.push_back(std::move(r));
    }
    return out;
}

inline WriterOptions small_frames(uint32_t frame_bytes = 16384) {
    WriterOptions o;
    o.frame_bytes = frame_bytes;
    o.frame_span = std::chrono::seconds(3600);
    o.source = "test";
    return o;
}

inline Bytes write_archive(const std::vector<Rec>& recs, const WriterOptions& opt,
                           ArchiveWriter::CaptureTotals totals = {}) {
    VectorSink sink;
    ArchiveWriter w(sink, opt);
    for (const Rec& r : recs) {
        w.add(r.ts_ns, r.orig_len, r.bytes);
    }
    w.finish(totals);
    return sink.data();
}

inline std::vector<Rec> read_records(const ArchiveReader& reader, DamageReport* report = nullptr) {
    std::vector<Rec> out;
    DamageReport rep = reader.for_each_record([&](const Record& r) {
        out.push_back(Rec{r.ts_ns, r.orig_len, Bytes(r.bytes.begin(), r.bytes.end())});
        return true;
    });
    if (report != nullptr) {
        *report = rep;
    }
    return out;
}

inline std::vector<Rec> read_records(const Bytes& archive, DamageReport* report = nullptr) {
    SpanSource src(archive);
    ArchiveReader reader(src, "t.pcap.zst");
    return read_records(reader, report);
}

// The message of the tcpr::Error that opening `bytes` throws ("" if it opens).
inline std::string open_error(const Bytes& bytes, const std::string& name = "x.pcap.zst") {
    SpanSource src(bytes);
    try {
        ArchiveReader reader(src, name);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

// --- an independent view of the file -------------------------------------------------------

struct RawFrame {
    uint64_t offset = 0;
    uint64_t size = 0;
    uint32_t magic = 0;
    bool skippable() const { return (magic & 0xFFFFFFF0u) == 0x184D2A50u; }
};

inline uint32_t le32(const uint8_t* p) {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

// Every frame of the file, found with zstd's own functions.
inline std::vector<RawFrame> raw_frames(const Bytes& f) {
    std::vector<RawFrame> out;
    size_t pos = 0;
    while (pos < f.size()) {
        const size_t n = ZSTD_findFrameCompressedSize(f.data() + pos, f.size() - pos);
        if (ZSTD_isError(n)) {
            throw std::runtime_error("raw_frames: bad frame at " + std::to_string(pos));
        }
        out.push_back({pos, n, le32(f.data() + pos)});
        pos += n;
    }
    return out;
}

// Data frames only (zstd frames after the pcap header frame).
inline std::vector<RawFrame> data_frames(const Bytes& f) {
    std::vector<RawFrame> out;
    bool header_seen = false;
    for (const RawFrame& r : raw_frames(f)) {
        if (r.skippable()) {
            continue;
        }
        if (!header_seen) {
            header_seen = true;
            continue;
        }
        out.push_back(r);
    }
    return out;
}

// What `zstd -dc` writes: every frame decompressed, skippable frames skipped (streaming API).
inline Bytes zstd_dc(const Bytes& f) {
    ZSTD_DCtx* d = ZSTD_createDCtx();
    Bytes out;
    std::vector<uint8_t> buf(ZSTD_DStreamOutSize());
    ZSTD_inBuffer in{f.data(), f.size(), 0};
    size_t last = 0;
    while (in.pos < in.size) {
        ZSTD_outBuffer o{buf.data(), buf.size(), 0};
        last = ZSTD_decompressStream(d, &o, &in);
        if (ZSTD_isError(last)) {
            ZSTD_freeDCtx(d);
            throw std::runtime_error(std::string("zstd_dc: ") + ZSTD_getErrorName(last));
        }
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(o.pos));
    }
    ZSTD_freeDCtx(d);
    if (last != 0) {
        throw std::runtime_error("zstd_dc: input ends inside a frame");
    }
    return out;
}

// A classic pcap file parsed by hand.
struct Pcap {
    uint32_t magic = 0;
    uint16_t major = 0, minor = 0;
    uint32_t snaplen = 0, link_type = 0;
    std::vector<Rec> records;
};

inline Pcap parse_pcap(const Bytes& b) {
    if (b.size() < 24) {
        throw std::runtime_error("parse_pcap: short header");
    }
    Pcap p;
    p.magic = le32(b.data());
    p.major = static_cast<uint16_t>(b[4] | (b[5] << 8));
    p.minor = static_cast<uint16_t>(b[6] | (b[7] << 8));
    p.snaplen = le32(b.data() + 16);
    p.link_type = le32(b.data() + 20);
    size_t pos = 24;
    while (pos < b.size()) {
        if (b.size() - pos < 16) {
            throw std::runtime_error("parse_pcap: record header cut at " + std::to_string(pos));
        }
        const uint32_t sec = le32(b.data() + pos), nsec = le32(b.data() + pos + 4);
        const uint32_t caplen = le32(b.data() + pos + 8), orig = le32(b.data() + pos + 12);
        pos += 16;
        if (caplen > b.size() - pos || caplen > p.snaplen || nsec >= 1'000'000'000) {
            throw std::runtime_error("parse_pcap: bad record at " + std::to_string(pos - 16));
        }
        p.records.push_back(Rec{uint64_t{sec} * 1'000'000'000 + nsec, orig,
                                Bytes(b.begin() + static_cast<long>(pos),
                                      b.begin() + static_cast<long>(pos + caplen))});
        pos += caplen;
    }
    return p;
}

// --- damage ----------------------------------------------------------------------------------

inline Bytes flip_byte(Bytes b, size_t at, uint8_t mask = 0xFF) {
    b.at(at) ^= mask;
    return b;
}

inline Bytes truncate_to(const Bytes& b, size_t n) {
    return Bytes(b.begin(), b.begin() + static_cast<long>(n));
}

// Offsets of the index region and trailer of a finished archive.
struct Layout {
    uint64_t index_offset = 0, index_size = 0, trailer_offset = 0;
};
inline Layout layout(const Bytes& f) {
    Layout l;
    l.trailer_offset = f.size() - 40;
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) {
        v = (v << 8) | f[l.trailer_offset + 8 + static_cast<size_t>(i)];
    }
    l.index_offset = v;
    l.index_size = l.trailer_offset - l.index_offset;
    return l;
}

inline const std::string kNoTrailer =
    "no archive trailer (file truncated or recording interrupted? run 'tcprec --repair')";

}  // namespace tcpr::archive::test
