// Internal to the archive library: the pcap records inside one decompressed data frame, read
// the same way by the reader (archive_reader.cpp) and by recovery (archive_recovery.cpp:
// scan, verify, repair), and the small helpers both share.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/archive/archive_reader.h"
#include "common/archive/byte_io.h"
#include "common/archive/format.h"
#include "common/archive/zstd_codec.h"

namespace tcpr::archive::detail {

constexpr uint64_t kNsPerSec = 1'000'000'000;

// "frame 3 at offset 1234"
std::string at(const char* what, uint64_t n, uint64_t offset);

inline size_t read_some(const ByteSource& src, uint64_t offset, std::span<uint8_t> out) {
    return src.read_at(offset, out);
}

// --- pcap records inside a data frame --------------------------------------------------------

struct RecordHeader {
    uint32_t sec, nsec, caplen, orig_len;
};

inline RecordHeader load_record_header(const uint8_t* p) {
    return {load_le32(p), load_le32(p + 4), load_le32(p + 8), load_le32(p + 12)};
}

// What validate_records() found in a data frame: its records and their timestamp range.
struct FrameRecords {
    uint64_t count = 0;
    uint64_t first_ns = 0, last_ns = 0;
};

// Checks the record framing of a data frame; counts records and their timestamp range. False
// with `why` set at the first bad record.
bool validate_records(std::span<const uint8_t> frame, uint32_t snaplen, FrameRecords& out,
                      std::string& why);

// Calls fn(Record) for each record of a frame validate_records() accepted; stops when fn
// returns false (and returns false).
template <class Fn>
bool walk_records(std::span<const uint8_t> frame, uint32_t frame_no, Fn&& fn) {
    size_t pos = 0;
    while (pos < frame.size()) {
        const RecordHeader h = load_record_header(frame.data() + pos);
        pos += format::kPcapRecordHeaderSize;
        Record r;
        r.ts_ns = h.sec * kNsPerSec + h.nsec;
        r.orig_len = h.orig_len;
        r.bytes = frame.subspan(pos, h.caplen);
        r.frame = frame_no;
        pos += h.caplen;
        if (!fn(r)) {
            return false;
        }
    }
    return true;
}

}  // namespace tcpr::archive::detail
