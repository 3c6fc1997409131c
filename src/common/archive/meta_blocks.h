// The archive's framing around the packet frames, one definition for the writer, the reader
// and recovery: the metadata block envelope (a zstd skippable frame holding a typed,
// checksummed, versioned body), the archive header block that opens every archive, and the
// trailer that closes a finished one and points at its index. Byte layouts: format.h and
// docs/archive-format.md.
//
// Decoders never read outside their input and never allocate more than the format's limits;
// they throw tcpr::Error(Corrupt) with a short reason (the reader prefixes the file name), or
// tcpr::Error(Unsupported) for an unknown major version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/archive/format.h"
#include "common/archive/zstd_codec.h"

namespace tcpr::archive {

// "unsupported archive format version 2.0 (this build reads version 1)"
std::string unsupported_version_message(uint8_t major, uint8_t minor);

// --- Metadata blocks -------------------------------------------------------------------------

// Appends one metadata block (a kMetaMagic skippable frame). With a compressor the body is
// stored as a zstd frame, else raw.
void append_meta_block(std::vector<uint8_t>& out, format::BlockKind kind,
                       std::span<const uint8_t> body, ZstdCompressor* compressor);

struct MetaBlock {
    uint8_t kind = 0;  // a format::BlockKind value, or an unknown kind from a later minor
    uint8_t major = 0, minor = 0;
    size_t frame_size = 0;      // bytes the block occupies in the file
    std::vector<uint8_t> body;  // decoded
};

// What parse_block() found at the start of its bytes.
enum class BlockStatus { Ok, Truncated, NotMeta, Checksum, NotTcpr, Unsupported };
// Decodes the metadata block that starts at bytes[0] into `out` (its frame_size is set as soon
// as the frame header is read, its major/minor for Unsupported) without throwing: for callers
// that word each failure themselves (the index decoder).
BlockStatus parse_block(std::span<const uint8_t> bytes, MetaBlock& out, ZstdDecompressor& dec);

// Decodes the metadata block that starts at bytes[0] (bytes may continue past it). Reasons:
// "block overruns ...", "checksum mismatch" (body or header damaged), "not a tcprec block".
MetaBlock decode_meta_block(std::span<const uint8_t> bytes, ZstdDecompressor& dec);

// --- Archive header block (first frame of every archive) ------------------------------------

struct ArchiveHeader {
    uint32_t link_type = 0;
    uint32_t snaplen = 0;
    std::string writer;
};
std::vector<uint8_t> encode_archive_header(const ArchiveHeader& h);  // the complete frame
ArchiveHeader decode_archive_header(const MetaBlock& block);

// Number of leading bytes looks_like_archive() needs: skippable header + tag + kind.
constexpr size_t kSniffSize = 13;
// True if `head` starts with an archive header block; with fewer than kSniffSize bytes, true if
// what is there is a prefix of one.
bool starts_like_archive_header(std::span<const uint8_t> head);

// --- Trailer ---------------------------------------------------------------------------------

struct Trailer {
    uint64_t index_offset = 0;
    uint64_t index_size = 0;
    uint8_t major = format::kVersionMajor, minor = format::kVersionMinor;
    uint16_t size = format::kTrailerSize;
};
void append_trailer(std::vector<uint8_t>& out, const Trailer& t);

// Reads the trailer fields that sit at fixed distances from the end of the file; `tail` is
// at least kTrailerSize bytes ending at the file's end. Checks the end magic and the major
// version only: use check_trailer() once the full trailer (t.size bytes) is read.
Trailer peek_trailer(std::span<const uint8_t> tail);
// Checks the CRC and framing of the complete trailer (`whole` = the last t.size bytes).
void check_trailer(std::span<const uint8_t> whole, const Trailer& t);

}  // namespace tcpr::archive
