#include "common/archive/session_index.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/base/byte_cursor.h"
#include "common/base/crc32.h"
#include "common/base/error.h"
#include "common/net/skip_reason.h"

namespace tcpr::archive {
namespace {

using format::BlockKind;
using net::SkipReason;

// The index stores skip reasons by value: docs/archive-format.md fixes these codes.
static_assert(static_cast<int>(SkipReason::Truncated) == 0);
static_assert(static_cast<int>(SkipReason::UnsupportedLink) == 1);
static_assert(static_cast<int>(SkipReason::NotIp) == 2);
static_assert(static_cast<int>(SkipReason::NotTcp) == 3);
static_assert(static_cast<int>(SkipReason::Fragment) == 4);
static_assert(static_cast<int>(SkipReason::Malformed) == 5);
static_assert(static_cast<int>(SkipReason::OutsideFilter) == 6);
// And the session flags (stored as one byte).
static_assert(session::session_flags::kSynSeen == 0x01 &&
              session::session_flags::kSynAckSeen == 0x02 &&
              session::session_flags::kFinSeen == 0x04 &&
              session::session_flags::kRstSeen == 0x08 &&
              session::session_flags::kClientFromSyn == 0x10 &&
              session::session_flags::kPayloadTruncated == 0x20);

[[noreturn]] void damaged(const std::string& why) {
    throw Error(ErrorKind::Corrupt, "damaged index (" + why + ")");
}

uint64_t zigzag(uint64_t delta) {
    const auto v = static_cast<int64_t>(delta);
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
uint64_t unzigzag(uint64_t z) { return (z >> 1) ^ (~(z & 1) + 1); }

// Appends varint(len) + the bytes `scratch` holds, for length-prefixed entries.
void put_entry(ByteWriter& w, const std::vector<uint8_t>& scratch) {
    w.varint(scratch.size());
    w.bytes(scratch);
}

// Reads a length-prefixed entry; fields a later minor version appended are skipped with it.
ByteReader get_entry(ByteReader& r, const char* what, uint64_t i) {
    const uint64_t n = r.varint();
    if (!r.ok() || n > r.remaining()) {
        damaged(std::string(what) + " " + std::to_string(i) + " overruns its block");
    }
    return ByteReader(r.bytes(n));
}

// A count that cannot exceed the bytes left (each item takes at least one byte): bounds what a
// damaged or hostile count can make us reserve.
uint64_t get_count(ByteReader& r, const char* what) {
    const uint64_t n = r.varint();
    if (!r.ok() || n > r.remaining()) {
        damaged(std::string("bad ") + what + " count");
    }
    return n;
}

// --- Index summary / sessions --------------------------------------------------------------

void encode_frames(ByteWriter& w, const std::vector<FrameEntry>& frames,
                   std::vector<uint8_t>& scratch) {
    w.varint(frames.size());
    uint64_t expected_offset = 0;
    uint64_t prev_first = 0;
    for (const FrameEntry& f : frames) {
        scratch.clear();
        ByteWriter e(scratch);
        e.varint(f.offset - expected_offset);  // 0 for contiguous frames after the first
        e.varint(f.compressed);
        e.varint(f.decompressed);
        e.varint(f.packets);
        e.varint(zigzag(f.first_ns - prev_first));
        e.varint(f.last_ns - f.first_ns);
        put_entry(w, scratch);
        expected_offset = f.offset + f.compressed;
        prev_first = f.first_ns;
    }
}

uint32_t get_u32_field(ByteReader& r, const char* what, uint64_t i) {
    const uint64_t v = r.varint();
    if (v > std::numeric_limits<uint32_t>::max()) {
        damaged(std::string(what) + " of frame " + std::to_string(i) + " is out of range");
    }
    return static_cast<uint32_t>(v);
}

void decode_frames(ByteReader& r, std::vector<FrameEntry>& frames) {
    const uint64_t n = get_count(r, "frame");
    frames.clear();
    frames.reserve(n);
    uint64_t expected_offset = 0;
    uint64_t prev_first = 0;
    for (uint64_t i = 0; i < n; ++i) {
        ByteReader e = get_entry(r, "frame entry", i);
        FrameEntry f;
        f.offset = expected_offset + e.varint();
        f.compressed = get_u32_field(e, "compressed size", i);
        f.decompressed = get_u32_field(e, "size", i);
        f.packets = get_u32_field(e, "packet count", i);
        f.first_ns = prev_first + unzigzag(e.varint());
        f.last_ns = f.first_ns + e.varint();
        if (!e.ok()) {
            damaged("frame entry " + std::to_string(i) + " is too short");
        }
        if (f.offset < expected_offset || f.offset + f.compressed < f.offset) {
            damaged("frame " + std::to_string(i) + " offset is out of range");
        }
        expected_offset = f.offset + f.compressed;
        prev_first = f.first_ns;
        frames.push_back(f);
    }
}

void put_endpoint(ByteWriter& w, const net::Endpoint& ep) {
    const size_t n = ep.addr.version == 6 ? 16 : 4;
    w.bytes({ep.addr.bytes.data(), n});
    w.u16le(ep.port);
}

net::Endpoint get_endpoint(ByteReader& r, uint8_t family) {
    net::Endpoint ep;
    const auto b = r.bytes(family == 6 ? 16 : 4);
    if (!b.empty()) {
        ep.addr =
            family == 6 ? net::IpAddress::v6_bytes(b.data()) : net::IpAddress::v4_bytes(b.data());
    }
    ep.port = r.u16le();
    return ep;
}

void encode_session(ByteWriter& e, const session::SessionSummary& s, uint64_t prev_first) {
    e.u8(s.flags);
    const uint8_t family = s.client.addr.version == 6 ? 6 : 4;
    e.u8(family);
    put_endpoint(e, s.client);
    put_endpoint(e, s.server);
    e.varint(zigzag(s.first_ns - prev_first));
    e.varint(s.last_ns - s.first_ns);
    e.varint(s.packets_c2s);
    e.varint(s.packets_s2c);
    e.varint(s.bytes_c2s);
    e.varint(s.bytes_s2c);
    // Frames as runs of consecutive numbers: (gap from the end of the previous run, length-1).
    uint64_t runs = 0;
    for (size_t i = 0; i < s.frames.size(); ++i) {
        if (i == 0 || s.frames[i] != s.frames[i - 1] + 1) {
            ++runs;
        }
    }
    e.varint(runs);
    uint64_t expected = 0;
    for (size_t i = 0; i < s.frames.size();) {
        size_t j = i;
        while (j + 1 < s.frames.size() && s.frames[j + 1] == s.frames[j] + 1) {
            ++j;
        }
        e.varint(s.frames[i] - expected);
        e.varint(j - i);
        expected = uint64_t{s.frames[j]} + 1;
        i = j + 1;
    }
}

// `budget`: how many more frame numbers the sessions may list in total (each listed frame
// holds at least one of the session's packets), so a damaged entry cannot make us allocate
// more than the frame table justifies.
session::SessionSummary decode_session(ByteReader& e, uint64_t index, uint64_t prev_first,
                                       uint64_t frame_count, uint64_t& budget) {
    session::SessionSummary s;
    s.flags = e.u8();
    const uint8_t family = e.u8();
    if (e.ok() && family != 4 && family != 6) {
        damaged("session " + std::to_string(index) + " has address family " +
                std::to_string(family));
    }
    s.client = get_endpoint(e, family);
    s.server = get_endpoint(e, family);
    s.first_ns = prev_first + unzigzag(e.varint());
    s.last_ns = s.first_ns + e.varint();
    s.packets_c2s = e.varint();
    s.packets_s2c = e.varint();
    s.bytes_c2s = e.varint();
    s.bytes_s2c = e.varint();
    const uint64_t runs = get_count(e, "frame run");
    uint64_t expected = 0;
    for (uint64_t k = 0; k < runs && e.ok(); ++k) {
        const uint64_t gap = e.varint();
        const uint64_t extra = e.varint();
        if (gap > frame_count || extra >= frame_count || expected + gap + extra >= frame_count) {
            damaged("session " + std::to_string(index) + " names a frame beyond the last");
        }
        const uint64_t start = expected + gap;
        if (extra + 1 > budget || s.frames.size() + extra + 1 > s.packets_c2s + s.packets_s2c) {
            damaged("session " + std::to_string(index) + " lists more frames than packets");
        }
        budget -= extra + 1;
        for (uint64_t f = start; f <= start + extra; ++f) {
            s.frames.push_back(static_cast<uint32_t>(f));
        }
        expected = start + extra + 1;
    }
    if (!e.ok()) {
        damaged("session entry " + std::to_string(index) + " is too short");
    }
    return s;
}

struct Summary {
    uint64_t session_count = 0;
    uint64_t session_blocks = 0;
};

Summary decode_summary(std::span<const uint8_t> body, ArchiveInfo& info) {
    ByteReader r(body);
    info.link_type = r.u32le();
    info.snaplen = r.u32le();
    info.server_port = r.u16le();
    info.source = get_string(r);
    info.writer = get_string(r);
    info.data_bytes = r.varint();
    info.packets = r.varint();
    info.indexed = r.varint();
    info.pcap_bytes = r.varint();
    info.first_ns = r.u64le();
    info.last_ns = r.u64le();
    info.kernel_drops = r.varint();
    info.interface_drops = r.varint();
    const uint64_t reasons = r.ok() ? get_count(r, "skip reason") : 0;
    info.not_indexed = net::SkipCounts{};
    for (uint64_t i = 0; i < reasons && r.ok(); ++i) {
        const uint8_t code = r.u8();
        const uint64_t n = r.varint();
        if (code < net::kSkipReasonCount) {  // reasons added later are ignored
            info.not_indexed.by_reason[code] = n;
        }
    }
    Summary s;
    s.session_count = r.varint();
    s.session_blocks = r.varint();
    if (!r.ok()) {
        damaged("summary block is too short");
    }
    decode_frames(r, info.frames);
    // Anything after the frame table was added by a later minor version: ignored.
    return s;
}

}  // namespace

std::vector<uint8_t> encode_index(const ArchiveInfo& info,
                                  std::span<const session::SessionSummary> sessions,
                                  ZstdCompressor& compressor) {
    std::vector<uint8_t> out;
    std::vector<uint8_t> body;
    std::vector<uint8_t> scratch;
    const size_t n_sessions = sessions.size();
    const size_t n_blocks =
        (n_sessions + format::kSessionsPerBlock - 1) / format::kSessionsPerBlock;
    {
        ByteWriter w(body);
        w.u32le(info.link_type);
        w.u32le(info.snaplen);
        w.u16le(info.server_port);
        put_string(w, info.source);
        put_string(w, info.writer);
        w.varint(info.data_bytes);
        w.varint(info.packets);
        w.varint(info.indexed);
        w.varint(info.pcap_bytes);
        w.u64le(info.first_ns);
        w.u64le(info.last_ns);
        w.varint(info.kernel_drops);
        w.varint(info.interface_drops);
        uint64_t reasons = 0;
        for (uint64_t n : info.not_indexed.by_reason) {
            reasons += n != 0 ? 1 : 0;
        }
        w.varint(reasons);
        for (int i = 0; i < net::kSkipReasonCount; ++i) {
            if (info.not_indexed.by_reason[i] != 0) {
                w.u8(static_cast<uint8_t>(i));
                w.varint(info.not_indexed.by_reason[i]);
            }
        }
        w.varint(n_sessions);
        w.varint(n_blocks);
        encode_frames(w, info.frames, scratch);
    }
    append_meta_block(out, BlockKind::IndexSummary, body, &compressor);
    for (size_t b = 0; b < n_blocks; ++b) {
        const size_t first = b * format::kSessionsPerBlock;
        const size_t last = std::min(n_sessions, first + format::kSessionsPerBlock);
        body.clear();
        ByteWriter w(body);
        w.varint(first);
        w.varint(last - first);
        uint64_t prev_first = 0;
        for (size_t i = first; i < last; ++i) {
            scratch.clear();
            ByteWriter e(scratch);
            encode_session(e, sessions[i], prev_first);
            put_entry(w, scratch);
            prev_first = sessions[i].first_ns;
        }
        append_meta_block(out, BlockKind::IndexSessions, body, &compressor);
    }
    return out;
}

void decode_index(std::span<const uint8_t> region, ArchiveInfo& info, ZstdDecompressor& dec) {
    bool have_summary = false;
    Summary summary;
    uint64_t blocks_seen = 0;
    uint64_t frame_budget = 0;
    info.sessions.clear();
    size_t pos = 0;
    MetaBlock block;
    while (pos < region.size()) {
        const std::string where = "block at index offset " + std::to_string(pos);
        switch (parse_block(region.subspan(pos), block, dec)) {
            case BlockStatus::Ok:
                break;
            case BlockStatus::Truncated:
                damaged(where + " overruns the index");
            case BlockStatus::NotMeta:
                damaged(where + " is not a metadata block");
            case BlockStatus::NotTcpr:
                damaged(where + " is not a tcprec block");
            case BlockStatus::Checksum:
                throw Error(ErrorKind::Corrupt, "index checksum mismatch");
            case BlockStatus::Unsupported:
                throw Error(ErrorKind::Unsupported,
                            unsupported_version_message(block.major, block.minor));
        }
        pos += block.frame_size;
        if (block.kind == static_cast<uint8_t>(BlockKind::IndexSummary)) {
            if (have_summary) {
                damaged("two summary blocks");
            }
            summary = decode_summary(block.body, info);
            info.format_version = block.major;
            info.format_minor = block.minor;
            have_summary = true;
            frame_budget = 0;
            for (const FrameEntry& f : info.frames) {
                if (f.packets > f.decompressed / format::kPcapRecordHeaderSize) {
                    damaged("frame table claims more packets than fit in a frame");
                }
                frame_budget += f.packets;
            }
            info.sessions.reserve(std::min<uint64_t>(summary.session_count, region.size()));
        } else if (block.kind == static_cast<uint8_t>(BlockKind::IndexSessions)) {
            if (!have_summary) {
                damaged("session block before the summary");
            }
            ByteReader r(block.body);
            const uint64_t first = r.varint();
            const uint64_t count = get_count(r, "session");
            if (first != info.sessions.size() || count > summary.session_count - first) {
                damaged("session block " + std::to_string(blocks_seen) + " is out of order");
            }
            uint64_t prev_first = 0;
            for (uint64_t i = 0; i < count; ++i) {
                ByteReader e = get_entry(r, "session entry", first + i);
                info.sessions.push_back(
                    decode_session(e, first + i, prev_first, info.frames.size(), frame_budget));
                prev_first = info.sessions.back().first_ns;
            }
            ++blocks_seen;
        }
        // Other kinds come from a later minor version: skipped.
    }
    if (!have_summary) {
        damaged("no summary block");
    }
    if (blocks_seen != summary.session_blocks || info.sessions.size() != summary.session_count) {
        damaged("holds " + std::to_string(info.sessions.size()) + " of " +
                std::to_string(summary.session_count) + " sessions");
    }
}

}  // namespace tcpr::archive
