// Reads a .pcap.zst archive: the trailer and index without touching packet frames (info),
// records frame by frame (replay, verify), skipping and counting damaged frames.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/archive/archive_info.h"
#include "common/archive/byte_io.h"
#include "common/base/stats.h"
#include "common/session/session_tracker.h"

namespace tcpr::archive {

struct Record {
    uint64_t ts_ns = 0;
    uint32_t orig_len = 0;
    std::span<const uint8_t> bytes;  // valid during the for_each_record callback only
    uint32_t frame = 0;              // data frame number
};

// What was wrong with an archive, per problem one line ("frame 12 at offset 1234567: checksum
// mismatch"). Readers skip and count; callers decide whether that is fatal (--strict).
struct DamageReport {
    uint64_t frames_ok = 0, frames_damaged = 0, records = 0;
    uint64_t bytes_lost = 0;  // compressed bytes that could not be used
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
    // (and sets `why` to one line, "frame 3 at offset 1234: zstd checksum mismatch") if the
    // frame is damaged or does not match the index. Thread safe for different `out` buffers
    // (if the source's read_at is). Throws tcpr::Error only for I/O errors of the source.
    bool read_frame(size_t i, std::vector<uint8_t>& out, std::string* why = nullptr) const;

    // Calls fn for every record of every readable frame in file order; damaged frames are
    // skipped and described in the returned report. fn returning false stops early.
    DamageReport for_each_record(const std::function<bool(const Record&)>& fn) const;

    // Frees the decompression contexts and buffers kept for the next read_frame() (a reader
    // done with its frames, kept for its index).
    void release_buffers() const;
    // Frees the index's session list (info().sessions becomes empty; the frames stay): a
    // reader that only reads records does not hold every session of a long archive.
    void release_sessions();

  private:
    friend DamageReport verify_archive(const ByteSource& source, const std::string& name);
    // read_frame() that also tells whether the frame carries a checksum (for verify).
    bool load_frame(size_t i, std::vector<uint8_t>& out, std::string* why,
                    bool* has_checksum) const;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// An archive's records one at a time, in file order (the pull form of for_each_record, for
// merging several inputs by time): damaged frames are skipped and described in damage(). The
// reader must outlive the cursor; a record's bytes are valid until the next call to next().
class RecordCursor {
  public:
    explicit RecordCursor(const ArchiveReader& reader) : reader_(&reader) {}

    // The next record; false at the end.
    bool next(Record& out);
    const DamageReport& damage() const { return damage_; }
    // Before its next frame is decompressed: the earliest timestamp that frame's records have
    // (from the index), a lower bound of what next() returns; nullopt when a frame is loaded
    // or none is left. Lets a merge of several archives decompress a frame only when due.
    std::optional<uint64_t> next_frame_first_ns() const;

  private:
    bool load_next_frame();

    const ArchiveReader* reader_;
    size_t next_frame_ = 0;
    uint32_t frame_ = 0;
    std::vector<uint8_t> buf_;
    size_t pos_ = 0;
    DamageReport damage_;
    std::string why_;
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
