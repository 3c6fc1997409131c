// Damaged archives, the leveldb log_test.cc way: write an archive in memory, damage it
// (truncate, flip bytes, drop the trailer), and assert the exact outcome of the reader,
// verify_archive() and repair_archive().
#include <catch2/catch.hpp>

#include "archive_test_util.h"
#include "common/archive/archive_reader.h"
#include "common/archive/session_index.h"
#include "common/archive/zstd_codec.h"
#include "common/base/error.h"

using namespace tcpr::archive;
using namespace tcpr::archive::test;

namespace {

const std::string kPre = "cannot open archive 'x.pcap.zst': ";

struct Sample {
    std::vector<Rec> recs;
    Bytes file;
    ArchiveInfo info;
    std::vector<size_t> first_record;  // index of each data frame's first record (+ end)
};

const Sample& sample() {
    static const Sample s = [] {
        Sample x;
        x.recs = mixed_records(600);
        x.file = write_archive(x.recs, small_frames(8192));
        SpanSource src(x.file);
        x.info = ArchiveReader(src, "s").info();
        size_t n = 0;
        for (const FrameEntry& f : x.info.frames) {
            x.first_record.push_back(n);
            n += f.packets;
        }
        x.first_record.push_back(n);
        return x;
    }();
    return s;
}

std::vector<Rec> records_without_frame(const Sample& s, size_t k) {
    std::vector<Rec> out(s.recs.begin(), s.recs.begin() + static_cast<long>(s.first_record[k]));
    out.insert(out.end(), s.recs.begin() + static_cast<long>(s.first_record[k + 1]), s.recs.end());
    return out;
}

std::vector<Rec> first_frames(const Sample& s, size_t k) {
    return {s.recs.begin(), s.recs.begin() + static_cast<long>(s.first_record[k])};
}

RepairResult repair(const Bytes& damaged, Bytes& out) {
    VectorSink sink;
    RepairResult r = repair_archive(SpanSource(damaged), "x.pcap.zst", sink);
    out = sink.data();
    // Whatever was damaged, the repaired archive itself is clean.
    SpanSource src(out);
    const DamageReport v = verify_archive(src, "repaired");
    INFO((v.problems.empty() ? "" : v.problems.front()));
    CHECK(v.clean());
    return r;
}

std::string repair_error(const Bytes& damaged) {
    VectorSink sink;
    try {
        repair_archive(SpanSource(damaged), "x.pcap.zst", sink);
    } catch (const tcpr::Error& e) {
        return e.what();
    }
    return "";
}

// Rebuilds a file from `data` (header + data frames) and a new index made from `info`.
Bytes with_index(Bytes data, ArchiveInfo info) {
    info.data_bytes = data.size();
    ZstdCompressor c(3);
    const Bytes index = encode_index(info, info.sessions, c);
    Trailer t;
    t.index_offset = data.size();
    t.index_size = index.size();
    data.insert(data.end(), index.begin(), index.end());
    append_trailer(data, t);
    return data;
}

Bytes data_part(const Sample& s) { return truncate_to(s.file, s.info.data_bytes); }

}  // namespace

TEST_CASE("truncation at every frame boundary: no trailer, repair keeps every complete frame",
          "[archive]") {
    const Sample& s = sample();
    const std::vector<RawFrame> frames = raw_frames(s.file);
    const std::vector<RawFrame> data = data_frames(s.file);
    REQUIRE(data.size() > 8);
    for (const RawFrame& f : frames) {
        const size_t cut = f.offset;  // keeps every frame before f
        INFO("cut at " << cut);
        const Bytes t = truncate_to(s.file, cut);
        if (cut == 0) {
            CHECK(open_error(t) == kPre + "empty file");
            CHECK(repair_error(t) ==
                  "cannot repair 'x.pcap.zst': no pcap header frame found "
                  "(not a tcprec archive, or damaged at its start)");
            continue;
        }
        CHECK(open_error(t) == kPre + kNoTrailer);
        size_t complete = 0;  // data frames wholly before the cut
        while (complete < data.size() && data[complete].offset + data[complete].size <= cut) {
            ++complete;
        }
        Bytes out;
        const RepairResult r = repair(t, out);
        CHECK(r.damage.frames_damaged == 0);
        CHECK(r.damage.bytes_lost == 0);
        CHECK(r.damage.problems.empty());
        CHECK(r.records_kept == s.first_record[complete]);
        CHECK(read_records(out) == first_frames(s, complete));
    }
    // Cutting the trailer's last byte, or the whole trailer, is the same story.
    for (size_t drop : {1, 39, 40}) {
        const Bytes t = truncate_to(s.file, s.file.size() - drop);
        CHECK(open_error(t) == kPre + kNoTrailer);
        Bytes out;
        const RepairResult r = repair(t, out);
        CHECK(r.records_kept == s.recs.size());
        CHECK(r.damage.frames_damaged == 0);
    }
}

TEST_CASE("truncation inside a data frame loses only that frame", "[archive]") {
    const Sample& s = sample();
    const std::vector<RawFrame> data = data_frames(s.file);
    for (size_t k = 0; k < data.size(); ++k) {
        for (uint64_t into : {uint64_t{1}, uint64_t{7}, data[k].size / 2, data[k].size - 1}) {
            const uint64_t cut = data[k].offset + into;
            INFO("frame " << k << ", cut at " << cut);
            const Bytes t = truncate_to(s.file, cut);
            CHECK(open_error(t) == kPre + kNoTrailer);
            Bytes out;
            const RepairResult r = repair(t, out);
            CHECK(r.records_kept == s.first_record[k]);
            CHECK(r.damage.frames_damaged == 1);
            CHECK(r.damage.bytes_lost == into);
            REQUIRE(r.damage.problems.size() == 1);
            CHECK(r.damage.problems[0] ==
                  "offset " + std::to_string(data[k].offset) +
                      ": frame truncated (the file ends inside it); no frame after it (" +
                      std::to_string(into) + " bytes lost)");
            CHECK(read_records(out) == first_frames(s, k));
        }
    }
}

TEST_CASE("truncation inside the index or trailer loses no records", "[archive]") {
    const Sample& s = sample();
    const Layout l = layout(s.file);
    for (uint64_t cut = l.index_offset + 1; cut < s.file.size(); cut += 7) {
        INFO("cut at " << cut);
        const Bytes t = truncate_to(s.file, cut);
        CHECK(open_error(t) == kPre + kNoTrailer);
        Bytes out;
        const RepairResult r = repair(t, out);
        CHECK(r.records_kept == s.recs.size());
        CHECK(r.damage.frames_damaged == 0);
        CHECK(r.damage.bytes_lost == 0);
        REQUIRE(r.damage.problems.size() == 1);
        CHECK(r.damage.problems[0].find(": index or trailer cut short (ignored)") !=
              std::string::npos);
    }
}

TEST_CASE("a wrong data frame checksum is reported by reader, verify and repair", "[archive]") {
    const Sample& s = sample();
    const std::vector<RawFrame> data = data_frames(s.file);
    const size_t k = 3;
    const Bytes bad = flip_byte(s.file, data[k].offset + data[k].size - 1, 0x01);
    const std::string line =
        "frame 3 at offset " + std::to_string(data[k].offset) + ": zstd checksum mismatch";

    DamageReport rep;
    const std::vector<Rec> got = read_records(bad, &rep);
    CHECK(rep.frames_damaged == 1);
    CHECK(rep.frames_ok == data.size() - 1);
    CHECK(rep.bytes_lost == data[k].size);
    CHECK(rep.problems == std::vector<std::string>{line});
    CHECK(got == records_without_frame(s, k));

    SpanSource src(bad);
    const DamageReport v = verify_archive(src, "x.pcap.zst");
    CHECK(v.frames_damaged == 1);
    CHECK(v.records == s.recs.size() - s.info.frames[k].packets);
    CHECK(v.problems == std::vector<std::string>{line});

    Bytes out;
    const RepairResult r = repair(bad, out);
    CHECK(r.damage.frames_damaged == 1);
    CHECK(r.damage.problems ==
          std::vector<std::string>{"data frame 3 at offset " + std::to_string(data[k].offset) +
                                   ": zstd checksum mismatch"});
    CHECK(read_records(out) == records_without_frame(s, k));
}

TEST_CASE("a flipped byte anywhere in a data frame is reported or harmless, never silent",
          "[archive]") {
    const Sample& s = sample();
    const std::vector<RawFrame> data = data_frames(s.file);
    const size_t k = 2;
    size_t reported = 0;
    for (uint64_t at = data[k].offset; at < data[k].offset + data[k].size; at += 3) {
        INFO("flip at " << at);
        const Bytes bad = flip_byte(s.file, at);
        DamageReport rep;
        const std::vector<Rec> got = read_records(bad, &rep);
        if (rep.frames_damaged == 0) {
            CHECK(got == s.recs);  // e.g. a window-size bit: the content is intact
            continue;
        }
        ++reported;
        CHECK(rep.frames_damaged == 1);
        REQUIRE(rep.problems.size() == 1);
        CHECK(rep.problems[0].rfind("frame 2 at offset " + std::to_string(data[k].offset) + ": ",
                                    0) == 0);
        CHECK(got == records_without_frame(s, k));
        Bytes out;
        const RepairResult r = repair(bad, out);
        // Repair may lose the damaged frame and never anything else.
        const std::vector<Rec> repaired = read_records(out);
        CHECK((repaired == records_without_frame(s, k) || repaired == s.recs));
    }
    CHECK(reported > data[k].size / 3 * 9 / 10);
}

TEST_CASE("a damaged frame header is skipped and the scan resumes at the next frame", "[archive]") {
    const Sample& s = sample();
    const std::vector<RawFrame> data = data_frames(s.file);
    const size_t k = 4;
    const Bytes bad = flip_byte(s.file, data[k].offset);  // the zstd magic

    DamageReport rep;
    CHECK(read_records(bad, &rep) == records_without_frame(s, k));
    CHECK(rep.problems ==
          std::vector<std::string>{"frame 4 at offset " + std::to_string(data[k].offset) +
                                   ": not a zstd frame"});
    Bytes out;
    const RepairResult r = repair(bad, out);
    CHECK(r.records_kept == s.recs.size() - s.info.frames[k].packets);
    CHECK(r.damage.frames_damaged == 1);
    CHECK(r.damage.bytes_lost == data[k].size);
    CHECK(r.damage.problems ==
          std::vector<std::string>{"offset " + std::to_string(data[k].offset) +
                                   ": not a zstd frame; " + std::to_string(data[k].size) +
                                   " bytes skipped up to the next frame at offset " +
                                   std::to_string(data[k + 1].offset)});
    CHECK(read_records(out) == records_without_frame(s, k));
}

TEST_CASE("damage with no frame boundary after it ends the repair there", "[archive]") {
    const Sample& s = sample();
    const std::vector<RawFrame> data = data_frames(s.file);
    const size_t k = 5;
    Bytes bad = s.file;
    const uint64_t from = data[k].offset + 10;
    std::fill(bad.begin() + static_cast<long>(from), bad.end(), 0xAA);
    Bytes out;
    const RepairResult r = repair(bad, out);
    CHECK(r.records_kept == s.first_record[k]);
    CHECK(r.damage.frames_damaged == 1);
    CHECK(r.damage.bytes_lost == bad.size() - data[k].offset);
    REQUIRE(r.damage.problems.size() == 1);
    CHECK(r.damage.problems[0].find("offset " + std::to_string(data[k].offset) + ": ") !=
          std::string::npos);
    CHECK(r.damage.problems[0].find("; no frame after it (" +
                                    std::to_string(bad.size() - data[k].offset) + " bytes lost)") !=
          std::string::npos);
    CHECK(read_records(out) == first_frames(s, k));
}

TEST_CASE("a flipped byte in the index fails the open with a checksum or damage message",
          "[archive]") {
    const Sample& s = sample();
    const Layout l = layout(s.file);
    // Block starts inside the index: bytes 0..7 of a block are its skippable frame header
    // (magic, size), everything after is covered by the block CRC.
    std::vector<uint64_t> block_starts;
    for (uint64_t pos = l.index_offset; pos < l.trailer_offset;) {
        block_starts.push_back(pos);
        pos += 8 + le32(s.file.data() + pos + 4);
    }
    REQUIRE(block_starts.size() == 2);  // summary + one session block
    for (uint64_t at = l.index_offset; at < l.trailer_offset; ++at) {
        INFO("flip at " << at);
        const Bytes bad = flip_byte(s.file, at);
        const std::string err = open_error(bad);
        INFO("error: " << err);
        uint64_t block = block_starts.front();
        for (uint64_t b : block_starts) {
            if (b <= at) {
                block = b;
            }
        }
        if (at - block >= 8) {
            CHECK(err == kPre + "index checksum mismatch");
        } else {  // a wrong magic or Frame_Size: the block structure breaks, or its body
            CHECK((err.rfind(kPre + "damaged index (", 0) == 0 ||
                   err == kPre + "index checksum mismatch"));
        }
    }
    // Repair rebuilds the index from the data frames.
    const Bytes bad = flip_byte(s.file, l.index_offset + 30);
    Bytes out;
    const RepairResult r = repair(bad, out);
    CHECK(r.records_kept == s.recs.size());
    CHECK(r.damage.frames_damaged == 0);
    CHECK(r.damage.problems.empty());
    SpanSource src(out);
    CHECK(ArchiveReader(src, "r").info().sessions.size() == s.info.sessions.size());
    // verify says why it cannot use the index and still checks the frames.
    SpanSource bad_src(bad);
    const DamageReport v = verify_archive(bad_src, "x.pcap.zst");
    CHECK(v.problems == std::vector<std::string>{kPre + "index checksum mismatch"});
    CHECK(v.frames_ok == s.info.frames.size());
    CHECK(v.records == s.recs.size());
}

TEST_CASE("a flipped byte in the trailer gives its exact error", "[archive]") {
    const Sample& s = sample();
    const uint64_t t0 = s.file.size() - 40;
    for (uint64_t i = 0; i < 40; ++i) {
        INFO("trailer byte " << i);
        const std::string err = open_error(flip_byte(s.file, t0 + i));
        if (i >= 36) {
            CHECK(err == kPre + kNoTrailer);
        } else if (i == 28) {
            CHECK(err == kPre +
                             "unsupported archive format version 254.0 (this build reads "
                             "version 1)");
        } else {
            CHECK(err == kPre + "trailer checksum mismatch");
        }
    }
}

TEST_CASE("a missing trailer is reported as an interrupted recording", "[archive]") {
    const Sample& s = sample();
    const Bytes t = truncate_to(s.file, s.file.size() - 40);
    CHECK(open_error(t) == kPre + kNoTrailer);
    SpanSource src(t);
    const DamageReport v = verify_archive(src, "x.pcap.zst");
    REQUIRE_FALSE(v.problems.empty());
    CHECK(v.problems[0] == kPre + kNoTrailer);
    CHECK(v.frames_ok == s.info.frames.size());
    CHECK(v.frames_damaged == 0);
}

TEST_CASE("a wrong magic at the start of the file is not an archive", "[archive]") {
    const Sample& s = sample();
    CHECK(open_error(flip_byte(s.file, 0)) == kPre + "not a tcprec archive");
    CHECK(open_error(flip_byte(s.file, 8)) == kPre +
                                                  "not a tcprec archive (zstd data without a "
                                                  "tcprec header)");
    // Repair still finds the pcap header frame and every record.
    Bytes out;
    const RepairResult r = repair(flip_byte(s.file, 0), out);
    CHECK(r.records_kept == s.recs.size());
    CHECK(r.damage.frames_damaged == 1);  // the 41 bytes of the damaged header block
}

TEST_CASE("a damaged pcap header frame is replaced from the archive header", "[archive]") {
    const Sample& s = sample();
    const std::vector<RawFrame> frames = raw_frames(s.file);
    const Bytes bad = flip_byte(s.file, frames[1].offset + frames[1].size - 1);
    Bytes out;
    const RepairResult r = repair(bad, out);
    CHECK(r.records_kept == s.recs.size());
    CHECK(r.damage.frames_damaged == 1);
    SpanSource src(out);
    CHECK(ArchiveReader(src, "r").info().link_type == 1);
    // verify names the damaged header frame.
    SpanSource bad_src(bad);
    const DamageReport v = verify_archive(bad_src, "x.pcap.zst");
    CHECK(v.problems ==
          std::vector<std::string>{"pcap header frame at offset " +
                                   std::to_string(frames[1].offset) + ": zstd checksum mismatch"});
}

TEST_CASE("a plain pcap or garbage cannot be repaired", "[archive]") {
    const Bytes pcap = zstd_dc(sample().file);
    const std::string err =
        "cannot repair 'x.pcap.zst': no pcap header frame found (not a "
        "tcprec archive, or damaged at its start)";
    CHECK(repair_error(pcap) == err);
    CHECK(repair_error(Bytes(1000, 0x55)) == err);
    CHECK(repair_error({}) == err);
    SpanSource src(pcap);
    const DamageReport v = verify_archive(src, "x.pcap.zst");
    REQUIRE_FALSE(v.problems.empty());
    CHECK(v.problems[0] == kPre + "not a tcprec archive (plain pcap? use tcprec -r to import it)");
    CHECK(v.frames_ok == 0);
}

TEST_CASE("verify finds nothing wrong with an intact archive", "[archive]") {
    const Sample& s = sample();
    SpanSource src(s.file);
    const DamageReport v = verify_archive(src, "x.pcap.zst");
    CHECK(v.problems.empty());
    CHECK(v.clean());
    CHECK(v.frames_ok == s.info.frames.size());
    CHECK(v.records == s.recs.size());
    CHECK(v.bytes_lost == 0);
}

TEST_CASE("verify compares each frame with the frame table", "[archive]") {
    const Sample& s = sample();
    ArchiveInfo info = s.info;
    info.frames[1].packets += 1;
    info.packets += 1;
    const Bytes file = with_index(data_part(s), info);
    SpanSource src(file);
    const DamageReport v = verify_archive(src, "x");
    const std::string where = "frame 1 at offset " + std::to_string(info.frames[1].offset) + ": ";
    CHECK(v.frames_damaged == 0);
    CHECK(v.problems ==
          std::vector<std::string>{
              where + "holds " + std::to_string(s.info.frames[1].packets) +
                  " records, the index says " + std::to_string(info.frames[1].packets),
              "data holds " + std::to_string(s.recs.size()) + " records, the index says " +
                  std::to_string(s.recs.size() + 1)});
}

TEST_CASE("verify reports data frames that are not where the index says", "[archive]") {
    const Sample& s = sample();
    // Five stray bytes between frames 2 and 3; the index is rebuilt to match the new offsets.
    Bytes data = data_part(s);
    const uint64_t at = s.info.frames[3].offset;
    data.insert(data.begin() + static_cast<long>(at), {9, 9, 9, 9, 9});
    ArchiveInfo info = s.info;
    for (size_t i = 3; i < info.frames.size(); ++i) {
        info.frames[i].offset += 5;
    }
    const Bytes file = with_index(data, info);
    SpanSource src(file);
    const DamageReport v = verify_archive(src, "x");
    CHECK(v.frames_damaged == 0);
    CHECK(v.problems == std::vector<std::string>{"frame 3 at offset " + std::to_string(at + 5) +
                                                 ": expected at offset " + std::to_string(at) +
                                                 " (frames are not contiguous)"});
    // The reader itself follows the frame table and still reads everything.
    CHECK(read_records(file) == s.recs);
}

TEST_CASE("verify compares the sessions with the data", "[archive]") {
    const Sample& s = sample();
    ArchiveInfo info = s.info;
    REQUIRE(!info.sessions.empty());
    info.sessions[0].packets_c2s += 1;
    const Bytes file = with_index(data_part(s), info);
    SpanSource src(file);
    const DamageReport v = verify_archive(src, "x");
    CHECK(v.problems == std::vector<std::string>{"index: session 0 (10.0.0.1:40000 -> "
                                                 "10.0.0.2:80) differs from the data"});
}

TEST_CASE("a frame table entry pointing outside the data is rejected at open", "[archive]") {
    const Sample& s = sample();
    ArchiveInfo info = s.info;
    info.frames.back().compressed += 100000;
    const Bytes file = with_index(data_part(s), info);
    CHECK(open_error(file) ==
          kPre + "damaged index (frame " + std::to_string(info.frames.size() - 1) + " at offset " +
              std::to_string(info.frames.back().offset) + " lies outside the data area)");
}

TEST_CASE("a frame whose records do not frame correctly is reported even with a good checksum",
          "[archive]") {
    // Data frame 2 re-made with its first record's nanoseconds field out of range: zstd is
    // happy (a fresh, correct checksum), the pcap framing is not.
    const Sample& s = sample();
    SpanSource src(s.file);
    const ArchiveReader reader(src, "s");
    Bytes content;
    REQUIRE(reader.read_frame(2, content));
    content[4] = 0xFF;  // ts_nsec = 0x...FF >= 10^9
    content[5] = 0xFF;
    content[6] = 0xFF;
    content[7] = 0xFF;
    ZstdCompressor c(3);
    Bytes remade;
    c.compress(content, remade);

    ArchiveInfo info = s.info;
    Bytes data = truncate_to(s.file, info.frames[0].offset);
    for (size_t i = 0; i < info.frames.size(); ++i) {
        const FrameEntry old = s.info.frames[i];
        info.frames[i].offset = data.size();
        if (i == 2) {
            data.insert(data.end(), remade.begin(), remade.end());
            info.frames[i].compressed = static_cast<uint32_t>(remade.size());
        } else {
            data.insert(data.end(), s.file.begin() + static_cast<long>(old.offset),
                        s.file.begin() + static_cast<long>(old.offset + old.compressed));
        }
    }
    const Bytes file = with_index(data, info);
    const std::string line = "frame 2 at offset " + std::to_string(info.frames[2].offset) +
                             ": record 0 at byte 0 of the frame: nanoseconds field 4294967295 "
                             "is out of range";
    DamageReport rep;
    CHECK(read_records(file, &rep) == records_without_frame(s, 2));
    CHECK(rep.problems == std::vector<std::string>{line});
    SpanSource file_src(file);
    CHECK(verify_archive(file_src, "x").problems == std::vector<std::string>{line});
    Bytes out;
    const RepairResult r = repair(file, out);
    CHECK(r.damage.problems ==
          std::vector<std::string>{"data frame 2 at offset " +
                                   std::to_string(info.frames[2].offset) +
                                   ": record 0 at byte 0 of the frame: nanoseconds field "
                                   "4294967295 is out of range"});
    CHECK(read_records(out) == records_without_frame(s, 2));
}
