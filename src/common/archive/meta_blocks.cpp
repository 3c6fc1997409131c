#include "common/archive/meta_blocks.h"

#include <algorithm>
#include <cstring>

#include "common/base/byte_cursor.h"
#include "common/base/crc32.h"
#include "common/base/error.h"

namespace tcpr::archive {
using format::BlockKind;

BlockStatus parse_block(std::span<const uint8_t> bytes, MetaBlock& out, ZstdDecompressor& dec) {
    if (bytes.size() < format::kSkippableHeaderSize) {
        return BlockStatus::Truncated;
    }
    if (load_le32(bytes.data()) != format::kMetaMagic) {
        return BlockStatus::NotMeta;
    }
    const uint64_t frame_size = uint64_t{load_le32(bytes.data() + 4)} + 8;
    if (frame_size < format::kBlockHeaderSize) {
        return BlockStatus::NotTcpr;
    }
    if (frame_size > bytes.size()) {
        return BlockStatus::Truncated;
    }
    const std::span<const uint8_t> head = bytes.subspan(8, 12);
    const std::span<const uint8_t> stored =
        bytes.subspan(format::kBlockHeaderSize, frame_size - format::kBlockHeaderSize);
    const uint8_t encoding = bytes[15];
    const uint32_t body_size = load_le32(bytes.data() + 16);
    const uint32_t crc = load_le32(bytes.data() + 20);
    out.frame_size = frame_size;
    if (body_size > format::kMaxBlockBody) {
        return BlockStatus::Checksum;
    }
    if (encoding == format::kEncodingRaw) {
        if (stored.size() != body_size) {
            return BlockStatus::Checksum;
        }
        out.body.assign(stored.begin(), stored.end());
    } else if (encoding == format::kEncodingZstd) {
        const FrameExtent ext = find_zstd_frame_extent(stored);
        if (ext.status != FrameExtent::Status::Ok || ext.size != stored.size() ||
            zstd_content_size(stored) != std::optional<uint64_t>(body_size)) {
            return BlockStatus::Checksum;
        }
        out.body.resize(body_size);
        try {
            dec.decompress_exact(stored, out.body);
        } catch (const Error&) {
            return BlockStatus::Checksum;
        }
    } else {
        return BlockStatus::Checksum;  // the encoding byte is covered by the CRC
    }
    if (crc32_update(crc32(head), out.body) != crc) {
        return BlockStatus::Checksum;
    }
    if (std::memcmp(bytes.data() + 8, format::kBlockTag, 4) != 0) {
        return BlockStatus::NotTcpr;
    }
    out.kind = bytes[12];
    out.major = bytes[13];
    out.minor = bytes[14];
    if (out.major != format::kVersionMajor) {
        return BlockStatus::Unsupported;
    }
    return BlockStatus::Ok;
}

std::string unsupported_version_message(uint8_t major, uint8_t minor) {
    return "unsupported archive format version " + std::to_string(major) + "." +
           std::to_string(minor) + " (this build reads version " +
           std::to_string(format::kVersionMajor) + ")";
}

void append_meta_block(std::vector<uint8_t>& out, BlockKind kind, std::span<const uint8_t> body,
                       ZstdCompressor* compressor) {
    std::vector<uint8_t> stored;
    if (compressor != nullptr) {
        compressor->compress(body, stored);
    }
    std::vector<uint8_t> head;
    ByteWriter w(head);
    w.bytes(format::kBlockTag);
    w.u8(static_cast<uint8_t>(kind));
    w.u8(format::kVersionMajor);
    w.u8(format::kVersionMinor);
    w.u8(compressor != nullptr ? format::kEncodingZstd : format::kEncodingRaw);
    w.u32le(static_cast<uint32_t>(body.size()));
    const uint32_t crc = crc32_update(crc32(head), body);
    w.u32le(crc);
    const std::span<const uint8_t> payload_tail = compressor != nullptr ? stored : body;
    ByteWriter o(out);
    o.u32le(format::kMetaMagic);
    o.u32le(static_cast<uint32_t>(head.size() + payload_tail.size()));
    o.bytes(head);
    o.bytes(payload_tail);
}

MetaBlock decode_meta_block(std::span<const uint8_t> bytes, ZstdDecompressor& dec) {
    MetaBlock b;
    switch (parse_block(bytes, b, dec)) {
        case BlockStatus::Ok:
            return b;
        case BlockStatus::Truncated:
            throw Error(ErrorKind::Corrupt, "truncated block");
        case BlockStatus::NotMeta:
            throw Error(ErrorKind::Corrupt, "not a metadata block");
        case BlockStatus::Checksum:
            throw Error(ErrorKind::Corrupt, "checksum mismatch");
        case BlockStatus::NotTcpr:
            throw Error(ErrorKind::Corrupt, "not a tcprec block");
        case BlockStatus::Unsupported:
            throw Error(ErrorKind::Unsupported, unsupported_version_message(b.major, b.minor));
    }
    throw Error(ErrorKind::Internal, "unreachable");
}

std::vector<uint8_t> encode_archive_header(const ArchiveHeader& h) {
    std::vector<uint8_t> body;
    ByteWriter w(body);
    w.u32le(h.link_type);
    w.u32le(h.snaplen);
    put_string(w, h.writer);
    std::vector<uint8_t> out;
    append_meta_block(out, BlockKind::ArchiveHeader, body, nullptr);
    return out;
}

ArchiveHeader decode_archive_header(const MetaBlock& block) {
    if (block.kind != static_cast<uint8_t>(BlockKind::ArchiveHeader)) {
        throw Error(ErrorKind::Corrupt, "not an archive header block");
    }
    ByteReader r(block.body);
    ArchiveHeader h;
    h.link_type = r.u32le();
    h.snaplen = r.u32le();
    h.writer = get_string(r);
    if (!r.ok()) {
        throw Error(ErrorKind::Corrupt, "archive header block is too short");
    }
    return h;
}

bool starts_like_archive_header(std::span<const uint8_t> head) {
    uint8_t expect[kSniffSize] = {};
    for (int i = 0; i < 4; ++i) {
        expect[i] = static_cast<uint8_t>(format::kMetaMagic >> (8 * i));
    }
    // bytes 4..7: Frame_Size, anything
    std::memcpy(expect + 8, format::kBlockTag, 4);
    expect[12] = static_cast<uint8_t>(BlockKind::ArchiveHeader);
    const size_t n = std::min(head.size(), kSniffSize);
    for (size_t i = 0; i < n; ++i) {
        if ((i < 4 || i >= 8) && head[i] != expect[i]) {
            return false;
        }
    }
    return true;
}

void append_trailer(std::vector<uint8_t>& out, const Trailer& t) {
    const size_t start = out.size();
    ByteWriter w(out);
    w.u32le(format::kTrailerMagic);
    w.u32le(static_cast<uint32_t>(format::kTrailerSize - 8));
    w.u64le(t.index_offset);
    w.u64le(t.index_size);
    w.u32le(0);
    w.u8(t.major);
    w.u8(t.minor);
    w.u16le(static_cast<uint16_t>(format::kTrailerSize));
    w.u32le(crc32({out.data() + start, 32}));
    w.u32le(format::kEndMagic);
}

Trailer peek_trailer(std::span<const uint8_t> tail) {
    if (tail.size() < format::kTrailerSize ||
        load_le32(tail.data() + tail.size() - 4) != format::kEndMagic) {
        throw Error(ErrorKind::Corrupt,
                    "no archive trailer (file truncated or recording interrupted? run 'tcprec "
                    "--repair')");
    }
    ByteReader r(tail.subspan(tail.size() - 32));
    Trailer t;
    t.index_offset = r.u64le();
    t.index_size = r.u64le();
    (void)r.u32le();  // reserved
    t.major = r.u8();
    t.minor = r.u8();
    t.size = r.u16le();
    if (t.major != format::kVersionMajor) {
        throw Error(ErrorKind::Unsupported, unsupported_version_message(t.major, t.minor));
    }
    if (t.size < format::kTrailerSize) {
        throw Error(ErrorKind::Corrupt, "trailer checksum mismatch");
    }
    return t;
}

void check_trailer(std::span<const uint8_t> whole, const Trailer& t) {
    if (whole.size() != t.size) {
        throw Error(ErrorKind::Internal, "check_trailer: wrong span");
    }
    const uint32_t crc = load_le32(whole.data() + whole.size() - 8);
    if (crc32(whole.first(whole.size() - 8)) != crc) {
        throw Error(ErrorKind::Corrupt, "trailer checksum mismatch");
    }
    if (load_le32(whole.data()) != format::kTrailerMagic ||
        load_le32(whole.data() + 4) != uint32_t{t.size} - 8u) {
        throw Error(ErrorKind::Corrupt, "damaged trailer (bad frame header)");
    }
}

}  // namespace tcpr::archive
