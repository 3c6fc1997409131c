// Encoding and decoding of the archive's session index: the summary block (frame table,
// totals) and the session blocks, stored as metadata blocks (meta_blocks.h) between the last
// packet frame and the trailer. Byte layouts: format.h and docs/archive-format.md.
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

#include "common/archive/archive_info.h"
#include "common/archive/format.h"
#include "common/archive/meta_blocks.h"
#include "common/archive/zstd_codec.h"

namespace tcpr::archive {

// --- Session index ---------------------------------------------------------------------------

// Encodes info (frames, totals, info.data_bytes; info.sessions is not used) and `sessions` as
// a summary block followed by session blocks of at most format::kSessionsPerBlock sessions.
std::vector<uint8_t> encode_index(const ArchiveInfo& info,
                                  std::span<const session::SessionSummary> sessions,
                                  ZstdCompressor& compressor);

// Decodes the index region (every byte between the index offset and the trailer) into info.
// Leaves info.file_bytes alone. Reasons: "index checksum mismatch", "damaged index (...)".
void decode_index(std::span<const uint8_t> region, ArchiveInfo& info, ZstdDecompressor& dec);

}  // namespace tcpr::archive
