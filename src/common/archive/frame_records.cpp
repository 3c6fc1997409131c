#include "common/archive/frame_records.h"

#include <algorithm>

namespace tcpr::archive::detail {

std::string at(const char* what, uint64_t n, uint64_t offset) {
    return std::string(what) + " " + std::to_string(n) + " at offset " + std::to_string(offset);
}

bool validate_records(std::span<const uint8_t> frame, uint32_t snaplen, FrameRecords& out,
                      std::string& why) {
    out = FrameRecords{};
    size_t pos = 0;
    const auto bad = [&](size_t at_byte, const std::string& what) {
        why = "record " + std::to_string(out.count) + " at byte " + std::to_string(at_byte) +
              " of the frame: " + what;
        return false;
    };
    while (pos < frame.size()) {
        if (frame.size() - pos < format::kPcapRecordHeaderSize) {
            return bad(pos, "truncated record header");
        }
        const RecordHeader h = load_record_header(frame.data() + pos);
        const size_t data = pos + format::kPcapRecordHeaderSize;
        if (h.caplen > frame.size() - data) {
            return bad(pos, "captured length " + std::to_string(h.caplen) + " overruns the frame");
        }
        if (h.caplen > snaplen) {
            return bad(pos, "captured length " + std::to_string(h.caplen) +
                                " exceeds the snaplen " + std::to_string(snaplen));
        }
        if (h.nsec >= kNsPerSec) {
            return bad(pos, "nanoseconds field " + std::to_string(h.nsec) + " is out of range");
        }
        if (h.orig_len < h.caplen) {
            return bad(pos, "original length " + std::to_string(h.orig_len) +
                                " is less than the captured length " + std::to_string(h.caplen));
        }
        const uint64_t ts = h.sec * kNsPerSec + h.nsec;
        out.first_ns = out.count == 0 ? ts : std::min(out.first_ns, ts);
        out.last_ns = out.count == 0 ? ts : std::max(out.last_ns, ts);
        ++out.count;
        pos = data + h.caplen;
    }
    return true;
}

}  // namespace tcpr::archive::detail
