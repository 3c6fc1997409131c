// What an archive's index says about it: the frame table, totals and sessions. Filled by
// ArchiveReader (archive_reader.h) and encoded/decoded by session_index.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/stats.h"
#include "common/net/skip_reason.h"
#include "common/session/session_tracker.h"

namespace tcpr::archive {

struct FrameEntry {
    uint64_t offset = 0;        // of the zstd frame in the file
    uint32_t compressed = 0;    // frame size in the file
    uint32_t decompressed = 0;  // pcap bytes inside
    uint32_t packets = 0;
    uint64_t first_ns = 0, last_ns = 0;  // earliest and latest record timestamp in the frame

    bool operator==(const FrameEntry&) const = default;
};

struct ArchiveInfo {
    uint16_t format_version = 0;  // major version as written (1)
    uint16_t format_minor = 0;    // minor version as written (0)
    uint32_t link_type = 0;
    uint32_t snaplen = 0;
    uint16_t server_port = 0;  // WriterOptions::server_port, 0 if none was given
    std::string source;        // WriterOptions::source
    std::string writer;        // "tcprec 0.1.0"
    uint64_t packets = 0, indexed = 0, pcap_bytes = 0;
    uint64_t file_bytes = 0;             // size of the whole file (index and trailer included)
    uint64_t data_bytes = 0;             // bytes before the index: header frames + data frames
    uint64_t first_ns = 0, last_ns = 0;  // earliest and latest record timestamp (0 if none)
    uint64_t kernel_drops = 0, interface_drops = 0;
    net::SkipCounts not_indexed;
    std::vector<FrameEntry> frames;
    std::vector<session::SessionSummary> sessions;
};

}  // namespace tcpr::archive
