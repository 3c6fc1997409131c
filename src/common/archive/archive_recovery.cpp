// Recovery of damaged archives (docs/archive-format.md): the scanner that finds frames without
// the index, verify (decompress and check everything) and repair (rebuild a valid archive from
// what is readable). The reader is archive_reader.cpp; both walk records with frame_records.h.
#include <algorithm>
#include <cstring>
#include <optional>

#include <zstd.h>

#include "common/archive/archive_reader.h"
#include "common/archive/archive_writer.h"
#include "common/archive/format.h"
#include "common/archive/frame_records.h"
#include "common/archive/session_index.h"
#include "common/archive/zstd_codec.h"
#include "common/base/error.h"
#include "common/net/packet_view.h"
#include "common/net/skip_reason.h"

namespace tcpr::archive {
using namespace detail;
namespace {

constexpr size_t kReadChunk = 1u << 20;
// Largest compressed data frame a scan will look for: the bound of the largest content.
const size_t kMaxCompressedFrame = ZSTD_compressBound(format::kMaxFrameContent);

// True if `b` (up to 8 bytes) starts like a frame with this magic: its first min(4, size)
// bytes match.
bool is_prefix_of_le32(std::span<const uint8_t> b, uint32_t magic) {
    for (size_t i = 0; i < std::min<size_t>(b.size(), 4); ++i) {
        if (b[i] != static_cast<uint8_t>(magic >> (8 * i))) {
            return false;
        }
    }
    return true;
}

struct PcapHeader {
    uint32_t snaplen = 0, link_type = 0;
};

// The 24-byte header our writer puts in its own frame: ns magic, little-endian, 2.4.
std::optional<PcapHeader> parse_pcap_header(std::span<const uint8_t> b) {
    if (b.size() != format::kPcapFileHeaderSize || load_le32(b.data()) != format::kPcapMagicNs) {
        return std::nullopt;
    }
    const uint16_t major = static_cast<uint16_t>(b[4] | (b[5] << 8));
    const uint16_t minor = static_cast<uint16_t>(b[6] | (b[7] << 8));
    if (major != format::kPcapVersionMajor || minor != format::kPcapVersionMinor) {
        return std::nullopt;
    }
    return PcapHeader{load_le32(b.data() + 16), load_le32(b.data() + 20)};
}

bool same_session(const session::SessionSummary& a, const session::SessionSummary& b) {
    return a.client == b.client && a.server == b.server && a.first_ns == b.first_ns &&
           a.last_ns == b.last_ns && a.packets_c2s == b.packets_c2s &&
           a.packets_s2c == b.packets_s2c && a.bytes_c2s == b.bytes_c2s &&
           a.bytes_s2c == b.bytes_s2c && a.flags == b.flags && a.frames == b.frames;
}

// --- Sequential access to a source for scans --------------------------------------------------

// A read window over a source: get(pos, n) returns up to n bytes at pos (fewer only at EOF),
// reusing what an earlier call already read.
class Window {
  public:
    explicit Window(const ByteSource& src) : src_(src), size_(src.size()) {}

    uint64_t size() const { return size_; }

    std::span<const uint8_t> get(uint64_t pos, size_t n) {
        if (pos >= size_) {
            return {};
        }
        n = static_cast<size_t>(std::min<uint64_t>(n, size_ - pos));
        const uint64_t have_end = start_ + buf_.size();
        if (pos >= start_ && pos + n <= have_end) {
            return {buf_.data() + (pos - start_), n};
        }
        const size_t want = std::max(n, kReadChunk);
        const size_t len = static_cast<size_t>(std::min<uint64_t>(want, size_ - pos));
        std::vector<uint8_t> fresh(len);
        size_t keep = 0;
        if (pos >= start_ && pos < have_end) {  // reuse the overlapping part
            keep = static_cast<size_t>(have_end - pos);
            std::memcpy(fresh.data(), buf_.data() + (pos - start_), keep);
        }
        const size_t got = read_some(src_, pos + keep, {fresh.data() + keep, len - keep});
        fresh.resize(keep + got);
        buf_ = std::move(fresh);
        start_ = pos;
        return {buf_.data(), std::min(n, buf_.size())};
    }

  private:
    const ByteSource& src_;
    uint64_t size_;
    uint64_t start_ = 0;
    std::vector<uint8_t> buf_;
};

// Finds the extent of the zstd frame at pos, reading more as needed.
FrameExtent extent_at(Window& w, uint64_t pos, std::span<const uint8_t>& frame) {
    size_t n = kReadChunk;
    for (;;) {
        const std::span<const uint8_t> b = w.get(pos, n);
        FrameExtent e = find_zstd_frame_extent(b);
        if (e.status == FrameExtent::Status::Ok) {
            frame = b.first(e.size);
            return e;
        }
        if (e.status == FrameExtent::Status::NeedMore && b.size() == n && n < kMaxCompressedFrame) {
            n = std::min(n * 4, kMaxCompressedFrame);
            continue;
        }
        return e;
    }
}

// Decompresses a whole zstd frame whose content size is declared and bounded.
bool decompress_frame(std::span<const uint8_t> frame, ZstdDecompressor& dec,
                      std::vector<uint8_t>& out, std::string& why) {
    const std::optional<uint64_t> n = zstd_content_size(frame);
    if (!n) {
        why = "frame header declares no content size";
        return false;
    }
    if (*n > format::kMaxFrameContent) {
        why = "frame declares " + std::to_string(*n) + " bytes, more than a data frame may hold";
        return false;
    }
    out.resize(*n);
    try {
        dec.decompress_exact(frame, out);
    } catch (const Error& e) {
        why = e.what();
        return false;
    }
    return true;
}

// Walks a file frame by frame from its start, using only the zstd frame headers (the index and
// trailer are not trusted), for repair and for verify of archives that cannot be opened.
class Scanner {
  public:
    explicit Scanner(const ByteSource& src) : w_(src) {}

    bool have_link() const { return pcap_header_ || archive_header_; }
    uint32_t link_type() const {
        return pcap_header_ ? pcap_header_->link_type : archive_header_->link_type;
    }
    uint32_t snaplen() const {
        return pcap_header_ ? pcap_header_->snaplen : archive_header_->snaplen;
    }

    // on_data(records) for every intact data frame, in file order.
    template <class OnData>
    void run(DamageReport& rep, OnData&& on_data) {
        uint64_t pos = 0;
        uint64_t data_no = 0;
        const uint64_t size = w_.size();
        std::vector<uint8_t> content;
        std::string why;
        while (pos < size) {
            const std::span<const uint8_t> head = w_.get(pos, 8);
            const uint32_t magic = head.size() >= 4 ? load_le32(head.data()) : 0;
            if (head.size() < 8 && (is_prefix_of_le32(head, format::kMetaMagic) ||
                                    is_prefix_of_le32(head, format::kTrailerMagic))) {
                // The file ends inside the header of an index block or the trailer.
                rep.problems.push_back("offset " + std::to_string(pos) +
                                       ": index or trailer cut short (ignored)");
                return;
            }
            if (head.size() == 8 && format::is_skippable_magic(magic)) {
                if (skippable(rep, pos, magic, head) == Next::Stop) {
                    return;
                }
                continue;
            }
            std::span<const uint8_t> frame;
            const bool zstd_like = magic == format::kZstdMagic ||
                                   (head.size() < 4 && is_prefix_of_le32(head, format::kZstdMagic));
            const FrameExtent ext = zstd_like ? extent_at(w_, pos, frame) : FrameExtent{};
            if (ext.status != FrameExtent::Status::Ok) {
                const std::string reason = !zstd_like
                                               ? "not a zstd frame"
                                               : (ext.status == FrameExtent::Status::NeedMore
                                                      ? "frame truncated (the file ends inside it)"
                                                      : ext.why);
                if (resync(rep, pos, reason)) {
                    continue;
                }
                return;
            }
            const uint64_t frame_size = frame.size();
            const bool header_expected = !pcap_header_ && !zstd_seen_;
            zstd_seen_ = true;
            const char* what = header_expected ? "pcap header frame" : "data frame";
            uint64_t number = header_expected ? 0 : data_no++;
            if (!decompress_frame(frame, dec_, content, why)) {
                pos = skip_undecodable(rep, pos, frame_size,
                                       header_expected
                                           ? std::string(what) + " at offset " + std::to_string(pos)
                                           : at(what, number, pos),
                                       why);
                continue;
            }
            if (!pcap_header_) {
                if (const auto ph = parse_pcap_header(content)) {
                    if (ph->snaplen != 0 && ph->snaplen <= format::kMaxSnaplen) {
                        pcap_header_ = ph;
                        pos += frame_size;
                        continue;
                    }
                }
            }
            if (header_expected) {  // not a pcap header after all: a data frame
                number = data_no++;
            }
            if (!have_link()) {
                damaged(rep, "data frame", number, pos, frame_size,
                        "comes before any pcap header (link type unknown)");
                pos += frame_size;
                continue;
            }
            FrameRecords fr;
            if (!validate_records(content, snaplen(), fr, why)) {
                damaged(rep, "data frame", number, pos, frame_size, why);
                pos += frame_size;
                continue;
            }
            ++rep.frames_ok;
            rep.records += fr.count;
            on_data(std::span<const uint8_t>(content), static_cast<uint32_t>(number));
            pos += frame_size;
        }
    }

  private:
    enum class Next { Go, Stop };

    // A skippable frame at `pos`: ours (an index block or the trailer, skipped; the archive
    // header, read for the link type) or another program's. Moves `pos` past it, or resyncs
    // when it runs past the end of the file.
    Next skippable(DamageReport& rep, uint64_t& pos, uint32_t magic,
                   std::span<const uint8_t> head) {
        const uint64_t size = w_.size();
        const uint64_t total = 8 + uint64_t{load_le32(head.data() + 4)};
        if (total > size - pos) {
            const bool ours = magic == format::kMetaMagic || magic == format::kTrailerMagic;
            if (resync(rep, pos, "skippable frame runs past the end of the file", !ours)) {
                return Next::Go;
            }
            if (ours) {  // an index cut short: no packet data is lost
                rep.problems.push_back("offset " + std::to_string(pos) +
                                       ": index or trailer cut short (ignored)");
            }
            return Next::Stop;
        }
        if (magic == format::kMetaMagic && !archive_header_ && total <= 65536) {
            try {
                const MetaBlock b = decode_meta_block(w_.get(pos, total), dec_);
                if (b.kind == static_cast<uint8_t>(format::BlockKind::ArchiveHeader)) {
                    const ArchiveHeader h = decode_archive_header(b);
                    if (h.snaplen != 0 && h.snaplen <= format::kMaxSnaplen) {
                        archive_header_ = PcapHeader{h.snaplen, h.link_type};
                    }
                }
            } catch (const Error&) {
                rep.problems.push_back("metadata block at offset " + std::to_string(pos) +
                                       " is damaged (ignored)");
            }
        }
        pos += total;
        return Next::Go;
    }

    // A zstd frame at `pos` (`label` names it) that does not decompress. Its own block sizes
    // may be what is damaged: the scan goes on at the next place where a frame that checks out
    // begins (returned; the file's size if none).
    uint64_t skip_undecodable(DamageReport& rep, uint64_t pos, uint64_t frame_size,
                              const std::string& label, const std::string& why) {
        const std::optional<uint64_t> next = next_frame(pos + 1);
        const uint64_t end = next.value_or(w_.size());
        ++rep.frames_damaged;
        rep.bytes_lost += end - pos;
        std::string line = label + ": " + why;
        if (!next) {
            line += "; no frame after it (" + std::to_string(end - pos) + " bytes lost)";
        } else if (end != pos + frame_size) {
            line += "; " + std::to_string(end - pos) +
                    " bytes skipped up to the next frame at offset " + std::to_string(end);
        }
        rep.problems.push_back(line);
        return end;
    }

    static void damaged(DamageReport& rep, const char* what, uint64_t n, uint64_t pos,
                        uint64_t bytes, const std::string& why) {
        ++rep.frames_damaged;
        rep.bytes_lost += bytes;
        rep.problems.push_back(at(what, n, pos) + ": " + why);
    }

    // True if a frame that checks out starts at q.
    bool frame_starts_at(uint64_t q) {
        const std::span<const uint8_t> head = w_.get(q, 8);
        if (head.size() < 8) {
            return false;
        }
        const uint32_t magic = load_le32(head.data());
        if (magic == format::kZstdMagic) {
            std::span<const uint8_t> frame;
            std::string why;
            std::vector<uint8_t> scratch;
            return extent_at(w_, q, frame).status == FrameExtent::Status::Ok &&
                   decompress_frame(frame, dec_, scratch, why);
        }
        if (magic == format::kMetaMagic) {
            const uint64_t total = 8 + uint64_t{load_le32(head.data() + 4)};
            if (total > w_.size() - q || total > format::kMaxBlockBody) {
                return false;
            }
            try {
                (void)decode_meta_block(w_.get(q, total), dec_);
                return true;
            } catch (const Error&) {
                return false;
            }
        }
        if (magic == format::kTrailerMagic) {
            return q + format::kTrailerSize == w_.size();
        }
        return false;
    }

    // The offset of the first frame at or after `from` that checks out, if any.
    std::optional<uint64_t> next_frame(uint64_t from) {
        const uint64_t size = w_.size();
        for (uint64_t q = from; q + 8 <= size;) {
            // A copy: checking a candidate moves the window.
            const std::span<const uint8_t> got = w_.get(q, kReadChunk);
            const std::vector<uint8_t> b(got.begin(), got.end());
            size_t i = 0;
            for (; i + 4 <= b.size(); ++i) {
                const uint32_t m = load_le32(b.data() + i);
                if ((m == format::kZstdMagic || m == format::kMetaMagic ||
                     m == format::kTrailerMagic) &&
                    frame_starts_at(q + i)) {
                    return q + i;
                }
            }
            if (b.size() < 4) {
                break;
            }
            q += i;  // i = b.size() - 3: the last 3 bytes are looked at again with more data
        }
        return std::nullopt;
    }

    // Damage at pos whose end the frame headers cannot tell: look for the next frame that
    // checks out. Returns false if there is none (then, if `report_loss`, reports the rest of
    // the file as lost).
    bool resync(DamageReport& rep, uint64_t& pos, const std::string& reason,
                bool report_loss = true) {
        const uint64_t size = w_.size();
        if (const std::optional<uint64_t> next = next_frame(pos + 1)) {
            ++rep.frames_damaged;
            rep.bytes_lost += *next - pos;
            rep.problems.push_back("offset " + std::to_string(pos) + ": " + reason + "; " +
                                   std::to_string(*next - pos) +
                                   " bytes skipped up to the next frame at offset " +
                                   std::to_string(*next));
            pos = *next;
            return true;
        }
        if (!report_loss) {
            return false;
        }
        ++rep.frames_damaged;
        rep.bytes_lost += size - pos;
        rep.problems.push_back("offset " + std::to_string(pos) + ": " + reason +
                               "; no frame after it (" + std::to_string(size - pos) +
                               " bytes lost)");
        pos = size;
        return false;
    }

    Window w_;
    ZstdDecompressor dec_;
    std::optional<PcapHeader> pcap_header_;
    std::optional<PcapHeader> archive_header_;
    bool zstd_seen_ = false;  // the first zstd frame is where the pcap header belongs
};

}  // namespace

// --- verify ----------------------------------------------------------------------------------

namespace {

// Checks the archive header block and the pcap header frame against the index; returns the
// offset where the data frames should begin.
uint64_t verify_headers(const ByteSource& source, const ArchiveInfo& info, DamageReport& rep) {
    Window w(source);
    ZstdDecompressor dec;
    const std::span<const uint8_t> head = w.get(0, 8);
    uint64_t pos = 0;
    const uint64_t total = head.size() == 8 ? 8 + uint64_t{load_le32(head.data() + 4)} : 0;
    try {
        if (total == 0 || total > info.data_bytes) {
            throw Error(ErrorKind::Corrupt, "truncated block");
        }
        const ArchiveHeader h = decode_archive_header(decode_meta_block(w.get(0, total), dec));
        if (h.link_type != info.link_type || h.snaplen != info.snaplen) {
            rep.problems.push_back("archive header: link type " + std::to_string(h.link_type) +
                                   " / snaplen " + std::to_string(h.snaplen) +
                                   " differ from the index");
        }
        pos = total;
    } catch (const Error& e) {
        rep.problems.push_back(std::string("archive header at offset 0: ") + e.what());
        return info.frames.empty() ? info.data_bytes : info.frames.front().offset;
    }
    std::span<const uint8_t> frame;
    const FrameExtent ext = extent_at(w, pos, frame);
    std::vector<uint8_t> content;
    std::string why;
    if (ext.status != FrameExtent::Status::Ok || !decompress_frame(frame, dec, content, why)) {
        rep.problems.push_back("pcap header frame at offset " + std::to_string(pos) + ": " +
                               (ext.status != FrameExtent::Status::Ok ? "damaged" : why));
        return info.frames.empty() ? info.data_bytes : info.frames.front().offset;
    }
    const std::optional<PcapHeader> ph = parse_pcap_header(content);
    if (!ph) {
        rep.problems.push_back("pcap header frame at offset " + std::to_string(pos) +
                               ": not a nanosecond pcap header");
    } else if (ph->link_type != info.link_type || ph->snaplen != info.snaplen) {
        rep.problems.push_back("pcap header: link type " + std::to_string(ph->link_type) +
                               " / snaplen " + std::to_string(ph->snaplen) +
                               " differ from the index");
    }
    if (!zstd_has_checksum(frame)) {
        rep.problems.push_back("pcap header frame has no zstd checksum");
    }
    return pos + frame.size();
}

// What the data frames hold, walked record by record for verify_archive().
struct DataWalk {
    explicit DataWalk(const ArchiveInfo& info)
        : tracker(info.server_port != 0 ? std::optional<uint16_t>(info.server_port)
                                        : std::nullopt) {}
    session::SessionTracker tracker;
    net::SkipCounts not_indexed;
    uint64_t indexed = 0, packets_in_table = 0, pcap_bytes = format::kPcapFileHeaderSize;
    uint64_t first_ns = 0, last_ns = 0;
};

// Reads every data frame the index lists from `pos` on: each must be where the index says,
// decompress and hold whole records matching the frame table; their packets are decoded and
// tracked into sessions as tcprec indexed them. `load_frame` is ArchiveReader::load_frame.
template <typename LoadFrame>
void walk_data_frames(LoadFrame&& load_frame, const ArchiveInfo& info, uint64_t pos, DataWalk& w,
                      DamageReport& rep) {
    std::vector<uint8_t> buf;
    std::string why;
    for (size_t i = 0; i < info.frames.size(); ++i) {
        const FrameEntry& f = info.frames[i];
        const std::string where = at("frame", i, f.offset) + ": ";
        w.packets_in_table += f.packets;
        w.pcap_bytes += f.decompressed;
        if (f.offset != pos) {
            rep.problems.push_back(where + "expected at offset " + std::to_string(pos) +
                                   " (frames are not contiguous)");
        }
        pos = f.offset + f.compressed;
        bool has_checksum = true;
        if (!load_frame(i, buf, &why, &has_checksum)) {
            ++rep.frames_damaged;
            rep.bytes_lost += f.compressed;
            rep.problems.push_back(why);
            continue;
        }
        if (!has_checksum) {
            rep.problems.push_back(where + "has no zstd checksum");
        }
        FrameRecords fr;
        if (!validate_records(buf, info.snaplen, fr, why)) {
            ++rep.frames_damaged;
            rep.bytes_lost += f.compressed;
            rep.problems.push_back(where + why);
            continue;
        }
        ++rep.frames_ok;
        rep.records += fr.count;
        if (fr.count != f.packets) {
            rep.problems.push_back(where + "holds " + std::to_string(fr.count) +
                                   " records, the index says " + std::to_string(f.packets));
        } else if (fr.count > 0 && (fr.first_ns != f.first_ns || fr.last_ns != f.last_ns)) {
            rep.problems.push_back(where + "timestamps differ from the index");
        }
        if (rep.records == fr.count) {
            w.first_ns = fr.first_ns;
            w.last_ns = fr.last_ns;
        } else if (fr.count > 0) {
            w.first_ns = std::min(w.first_ns, fr.first_ns);
            w.last_ns = std::max(w.last_ns, fr.last_ns);
        }
        walk_records(buf, static_cast<uint32_t>(i), [&](const Record& r) {
            const net::DecodeResult d = net::decode(info.link_type, r.bytes);
            if (d.ok()) {
                w.tracker.observe(d.packet(), r.ts_ns, r.frame);
                ++w.indexed;
            } else {
                w.not_indexed.count(d.reason());
            }
            return true;
        });
    }
    if (pos != info.data_bytes) {
        rep.problems.push_back("data frames end at offset " + std::to_string(pos) +
                               ", the index starts at offset " + std::to_string(info.data_bytes));
    }
}

// The data's records, packets and sessions against what the index says of them.
void compare_with_index(const ArchiveInfo& info, const DataWalk& w, DamageReport& rep) {
    if (rep.records != info.packets) {
        rep.problems.push_back("data holds " + std::to_string(rep.records) +
                               " records, the index says " + std::to_string(info.packets));
    }
    if (rep.records > 0 && (w.first_ns != info.first_ns || w.last_ns != info.last_ns)) {
        rep.problems.push_back("index: capture time range differs from the data");
    }
    if (w.indexed != info.indexed || w.not_indexed.by_reason != info.not_indexed.by_reason) {
        rep.problems.push_back(
            "index: " + std::to_string(info.indexed) + " indexed packets, the data has " +
            std::to_string(w.indexed) +
            (w.not_indexed.total() > 0 ? " (not indexed: " + w.not_indexed.breakdown() + ")" : ""));
    }
    const auto& sessions = w.tracker.sessions();
    if (sessions.size() != info.sessions.size()) {
        rep.problems.push_back("index: " + std::to_string(info.sessions.size()) +
                               " sessions, the data has " + std::to_string(sessions.size()));
        return;
    }
    size_t reported = 0, differing = 0;
    for (size_t k = 0; k < sessions.size(); ++k) {
        if (!same_session(sessions[k], info.sessions[k])) {
            ++differing;
            if (reported < 5) {
                ++reported;
                rep.problems.push_back("index: session " + std::to_string(k) + " (" +
                                       info.sessions[k].client.to_string() + " -> " +
                                       info.sessions[k].server.to_string() +
                                       ") differs from the data");
            }
        }
    }
    if (differing > reported) {
        rep.problems.push_back("index: " + std::to_string(differing - reported) +
                               " more sessions differ from the data");
    }
}

}  // namespace

DamageReport verify_archive(const ByteSource& source, const std::string& name) {
    DamageReport rep;
    std::optional<ArchiveReader> reader;
    try {
        reader.emplace(source, name);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::Corrupt && e.kind() != ErrorKind::Unsupported) {
            throw;
        }
        rep.problems.push_back(e.what());
        if (e.kind() == ErrorKind::Corrupt && source.size() > 0) {
            Scanner scan(source);
            scan.run(rep, [](std::span<const uint8_t>, uint32_t) {});
        }
        return rep;
    }
    const ArchiveInfo& info = reader->info();
    DataWalk w(info);
    const auto load_frame = [&](size_t i, std::vector<uint8_t>& buf, std::string* why,
                                bool* has_checksum) {
        return reader->load_frame(i, buf, why, has_checksum);
    };
    walk_data_frames(load_frame, info, verify_headers(source, info, rep), w, rep);
    // The index against itself.
    if (w.packets_in_table != info.packets) {
        rep.problems.push_back("index: frame table holds " + std::to_string(w.packets_in_table) +
                               " packets, the totals say " + std::to_string(info.packets));
    }
    if (w.pcap_bytes != info.pcap_bytes) {
        rep.problems.push_back("index: frame table holds " + std::to_string(w.pcap_bytes) +
                               " pcap bytes, the totals say " + std::to_string(info.pcap_bytes));
    }
    if (rep.frames_damaged == 0) {
        compare_with_index(info, w, rep);  // else the data cannot be compared any further
    }
    return rep;
}

// --- repair ----------------------------------------------------------------------------------

RepairResult repair_archive(const ByteSource& source, const std::string& name, ByteSink& sink,
                            int level) {
    RepairResult res;
    Scanner scan(source);
    std::unique_ptr<ArchiveWriter> writer;
    const auto make_writer = [&] {
        WriterOptions opt;
        opt.link_type = scan.link_type();
        opt.snaplen = scan.snaplen();
        opt.level = level;
        opt.source = "repair of '" + name + "'";
        writer = std::make_unique<ArchiveWriter>(sink, opt);
    };
    scan.run(res.damage, [&](std::span<const uint8_t> records, uint32_t frame_no) {
        if (!writer) {
            make_writer();
        }
        walk_records(records, frame_no, [&](const Record& r) {
            writer->add(r.ts_ns, r.orig_len, r.bytes);
            ++res.records_kept;
            return true;
        });
    });
    if (!writer) {
        if (!scan.have_link()) {
            throw Error(ErrorKind::Corrupt, "cannot repair '" + name +
                                                "': no pcap header frame found (not a tcprec "
                                                "archive, or damaged at its start)");
        }
        make_writer();
    }
    writer->finish();
    res.sessions = writer->stats().sessions;
    return res;
}

}  // namespace tcpr::archive
