// Reads a .pcap.zst archive: the trailer and index without touching packet frames (info),
// records frame by frame (replay, verify), skipping and counting damaged frames.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/archive/byte_io.h"
#include "common/base/stats.h"
#include "common/session/session_tracker.h"

namespace tcpr::archive {

struct FrameEntry {
    uint64_t offset = 0;        // of the zstd frame in the file
    uint32_t compressed = 0;    // frame size in the file
    uint32_t decompressed = 0;  // pcap bytes inside
    uint32_t packets = 0;
    uint64_t first_ns = 0, last_ns = 0;
};

struct ArchiveInfo {
    uint16_t format_version = 0;
    uint32_t link_type = 0;
    uint32_t snaplen = 0;
    std::string source;         // WriterOptions::source
    std::string writer;         // "tcprec 0.1.0"
    uint64_t packets = 0, indexed = 0, pcap_bytes = 0, file_bytes = 0;
    uint64_t first_ns = 0, last_ns = 0;
    uint64_t kernel_drops = 0, interface_drops = 0;
    SkipCounts not_indexed;
    std::vector<FrameEntry> frames;
    std::vector<session::SessionSummary> sessions;
};

struct Record {
    uint64_t ts_ns = 0;
    uint32_t orig_len = 0;
    std::span<const uint8_t> bytes;  // valid until the next call on the cursor
    uint32_t frame = 0;              // data frame number
};

// What was wrong with an archive, per problem one line ("frame 12 at offset 1234567: checksum
// mismatch"). Readers skip and count; callers decide whether that is fatal (--strict).
struct DamageReport {
    uint64_t frames_ok = 0, frames_damaged = 0, records = 0;
    uint64_t bytes_lost = 0;          // compressed bytes that could not be used
    std::vector<std::string> problems;
    bool clean() const { return frames_damaged == 0 && problems.empty(); }
};

class ArchiveReader {
public:
    // Reads and checks the trailer and index. Throws tcpr::Error(Corrupt) with one clear line
    // (naming `name`) if the file is not an archive, is truncated (no trailer: "run tcprec
    // --repair"), or its index fails its checksum. Does not decompress data frames.
    // The source must outlive the reader.
    ArchiveReader(const ByteSource& source, std::string name);
    ~ArchiveReader();
    ArchiveReader(ArchiveReader&&) noexcept;

    const ArchiveInfo& info() const;

    // Decompresses data frame `i` into `out` (pcap record bytes, no file header). Returns false
    // (and fills `why`) if the frame is damaged. Thread safe for different `out` buffers.
    bool read_frame(size_t i, std::vector<uint8_t>& out, std::string* why = nullptr) const;

    // Calls fn for every record of every readable frame in file order; damaged frames are
    // skipped and described in the returned report. fn returning false stops early.
    DamageReport for_each_record(const std::function<bool(const Record&)>& fn) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Full check of an archive (decompresses everything, compares with the index). Never throws
// for damage; throws tcpr::Error only for I/O failures.
DamageReport verify_archive(const ByteSource& source, const std::string& name);

// Rebuilds a valid archive from whatever `source` holds (interrupted recording, truncated or
// damaged file): scans frames from the start, keeps every record of every intact data frame,
// and writes them with a fresh index through `sink`. Returns what was lost. Throws
// tcpr::Error(Corrupt) if not even the pcap header frame can be found.
struct RepairResult {
    DamageReport damage;
    uint64_t records_kept = 0;
    uint64_t sessions = 0;
};
RepairResult repair_archive(const ByteSource& source, const std::string& name, ByteSink& sink,
                            int level = 3);

// True if the bytes start like one of our archives (cheap sniff of the first frame header).
bool looks_like_archive(std::span<const uint8_t> head);

}  // namespace tcpr::archive
