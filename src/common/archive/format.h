// The .pcap.zst archive format: magics, versions, frame kinds and byte layouts.
// The specification, with every field's offset, is docs/archive-format.md; keep them in step.
//
// A file is a sequence of zstd frames (RFC 8878), all integers little-endian:
//
//   [archive header]  skippable frame, kMetaMagic, block kind kArchiveHeader
//   [pcap header]     zstd frame holding the 24-byte classic pcap file header (ns timestamps)
//   [data frame 0..]  zstd frames holding whole pcap records (content size + checksum set)
//   [index]           skippable frames, kMetaMagic: kIndexSummary, then kIndexSessions blocks
//   [trailer]         skippable frame, kTrailerMagic, exactly kTrailerSize bytes, ends the file
//
// Decompressing the whole file (zstd -dc) yields one classic pcap file: skippable frames
// produce no output.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tcpr::archive::format {

// --- Versions ------------------------------------------------------------------------------
// Major: incompatible layout change; readers reject an unknown major. Minor: only additions
// that older readers can skip (new fields at the end of a block body or entry, new block kinds).
constexpr uint8_t kVersionMajor = 1;
constexpr uint8_t kVersionMinor = 0;

// --- zstd frame magics ---------------------------------------------------------------------
constexpr uint32_t kZstdMagic = 0xFD2FB528;          // a regular zstd frame
constexpr uint32_t kSkippableMagicMin = 0x184D2A50;  // zstd skippable frames: 0x184D2A5?
constexpr uint32_t kSkippableMagicMask = 0xFFFFFFF0;
constexpr uint32_t kMetaMagic = 0x184D2A53;     // our metadata blocks (header, index)
constexpr uint32_t kTrailerMagic = 0x184D2A54;  // our trailer (skippable frame magic)
constexpr size_t kSkippableHeaderSize = 8;      // magic (4) + Frame_Size (4)

constexpr bool is_skippable_magic(uint32_t m) {
    return (m & kSkippableMagicMask) == kSkippableMagicMin;
}

// --- Metadata block (payload of a kMetaMagic skippable frame) ------------------------------
//  off size field
//    0    4 skippable magic kMetaMagic
//    4    4 Frame_Size: bytes after this field (= 16 + stored body size)
//    8    4 tag "TCPR"
//   12    1 kind (BlockKind)
//   13    1 format major version
//   14    1 format minor version
//   15    1 encoding: 0 = body stored raw, 1 = body stored as one zstd frame
//   16    4 decoded body size
//   20    4 CRC-32 of bytes 8..19 followed by the decoded body
//   24    . stored body
constexpr uint8_t kBlockTag[4] = {'T', 'C', 'P', 'R'};
constexpr size_t kBlockHeaderSize = 24;  // including the 8-byte skippable frame header
constexpr uint8_t kEncodingRaw = 0;
constexpr uint8_t kEncodingZstd = 1;

enum class BlockKind : uint8_t {
    ArchiveHeader = 1,  // link type, snaplen, writer: lets tools identify the file from its start
    IndexSummary = 2,   // totals, skip counts, the frame table
    IndexSessions = 3,  // a run of session entries
};

// --- Trailer: the last kTrailerSize bytes of a finished archive ----------------------------
//  off size field
//    0    4 skippable magic kTrailerMagic
//    4    4 Frame_Size = trailer size - 8
//    8    8 index offset: file offset of the first index block
//   16    8 index size: bytes from the index offset to the trailer
//   24    4 reserved, 0 (readers ignore)
//   28    1 format major version
//   29    1 format minor version
//   30    2 trailer size (40 in version 1.0; later minors may grow the trailer at its start)
//   32    4 CRC-32 of trailer bytes 0..31
//   36    4 end magic kEndMagic ("tcpr")
constexpr size_t kTrailerSize = 40;
constexpr uint32_t kEndMagic = 0x72706374;  // bytes 't' 'c' 'p' 'r'

// --- Classic pcap (https://www.tcpdump.org/manpages/pcap-savefile.5.txt) ------------------
constexpr uint32_t kPcapMagicNs = 0xA1B23C4D;  // nanosecond timestamps, written little-endian
constexpr uint32_t kPcapMagicUs = 0xA1B2C3D4;
constexpr uint32_t kPcapngMagic = 0x0A0D0D0A;
constexpr uint16_t kPcapVersionMajor = 2;
constexpr uint16_t kPcapVersionMinor = 4;
constexpr size_t kPcapFileHeaderSize = 24;
constexpr size_t kPcapRecordHeaderSize = 16;  // ts_sec, ts_nsec, incl_len, orig_len

// --- Limits (also bound what a reader allocates for damaged or hostile input) -------------
constexpr uint32_t kMaxSnaplen = 64u << 20;
constexpr uint32_t kMaxFrameBytes = 64u << 20;     // WriterOptions::frame_bytes upper bound
constexpr uint64_t kMaxFrameContent = 256u << 20;  // decompressed data frame, reader limit
constexpr uint64_t kMaxBlockBody = 1u << 30;       // decoded metadata block, reader limit
constexpr uint32_t kSessionsPerBlock = 16384;      // writer: sessions per kIndexSessions block

}  // namespace tcpr::archive::format
