#include "common/archive/archive_reader.h"

#include <thread>

#include <catch2/catch.hpp>
#include <zstd.h>

#include "archive_test_util.h"
#include "common/base/crc32.h"
#include "common/base/error.h"

using namespace tcpr::archive;
using namespace tcpr::archive::test;

namespace {

void append_le(Bytes& b, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
        b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
}

// A metadata block built by hand from docs/archive-format.md (not with the library's encoder).
Bytes make_block(uint8_t kind, uint8_t major, uint8_t minor, const Bytes& body) {
    Bytes stored(ZSTD_compressBound(body.size()));
    stored.resize(ZSTD_compress(stored.data(), stored.size(), body.data(), body.size(), 3));
    Bytes head = {'T', 'C', 'P', 'R', kind, major, minor, 1};
    append_le(head, body.size(), 4);
    const uint32_t crc = tcpr::crc32_update(tcpr::crc32(head), body);
    Bytes out;
    append_le(out, 0x184D2A53, 4);
    append_le(out, head.size() + 4 + stored.size(), 4);
    out.insert(out.end(), head.begin(), head.end());
    append_le(out, crc, 4);
    out.insert(out.end(), stored.begin(), stored.end());
    return out;
}

// The decoded body of the metadata block at `at`.
Bytes block_body(const Bytes& f, size_t at) {
    const uint32_t frame = le32(f.data() + at + 4);
    const uint32_t size = le32(f.data() + at + 16);
    Bytes body(size);
    const size_t n = ZSTD_decompress(body.data(), body.size(), f.data() + at + 24, frame - 16);
    REQUIRE(n == size);
    return body;
}

// A trailer built by hand; `extra` bytes of a later minor version go after the frame header.
Bytes make_trailer(uint64_t index_offset, uint64_t index_size, uint8_t major, uint8_t minor,
                   size_t extra = 0) {
    const size_t size = 40 + extra;
    Bytes t;
    append_le(t, 0x184D2A54, 4);
    append_le(t, size - 8, 4);
    t.resize(t.size() + extra, 0xEE);
    append_le(t, index_offset, 8);
    append_le(t, index_size, 8);
    append_le(t, 0, 4);
    t.push_back(major);
    t.push_back(minor);
    append_le(t, size, 2);
    append_le(t, tcpr::crc32(t), 4);
    append_le(t, 0x72706374, 4);
    return t;
}

Bytes sample_archive() { return write_archive(mixed_records(800), small_frames(8192)); }

}  // namespace

TEST_CASE("read_frame can be used from several threads at once", "[archive]") {
    const Bytes file = sample_archive();
    SpanSource src(file);
    const ArchiveReader reader(src, "t");
    const size_t n = reader.info().frames.size();
    REQUIRE(n > 10);
    std::vector<Bytes> expected(n);
    for (size_t i = 0; i < n; ++i) {
        REQUIRE(reader.read_frame(i, expected[i]));
    }
    std::vector<std::thread> threads;
    std::vector<int> mismatches(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            Bytes out;
            for (int round = 0; round < 20; ++round) {
                for (size_t i = 0; i < n; ++i) {
                    const size_t k = (i * 7 + static_cast<size_t>(t)) % n;
                    if (!reader.read_frame(k, out) || out != expected[k]) {
                        ++mismatches[static_cast<size_t>(t)];
                    }
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("read_frame of a frame that does not exist says so", "[archive]") {
    const Bytes file = sample_archive();
    SpanSource src(file);
    const ArchiveReader reader(src, "t");
    const size_t n = reader.info().frames.size();
    Bytes out;
    std::string why;
    CHECK_FALSE(reader.read_frame(n, out, &why));
    CHECK(why == "frame " + std::to_string(n) + ": no such frame (the archive has " +
                     std::to_string(n) + ")");
}

TEST_CASE("for_each_record stops when the callback returns false", "[archive]") {
    const Bytes file = sample_archive();
    SpanSource src(file);
    const ArchiveReader reader(src, "t");
    size_t seen = 0;
    reader.for_each_record([&](const Record&) { return ++seen < 5; });
    CHECK(seen == 5);
}

TEST_CASE("opening something that is not an archive fails with one line naming the file",
          "[archive]") {
    const std::string pre = "cannot open archive 'x.pcap.zst': ";
    SECTION("empty file") { CHECK(open_error({}) == pre + "empty file"); }
    SECTION("plain pcap, any magic and byte order") {
        for (uint32_t magic : {0xA1B2C3D4u, 0xA1B23C4Du, 0xD4C3B2A1u, 0x4D3CB2A1u}) {
            Bytes pcap;
            append_le(pcap, magic, 4);
            pcap.resize(24, 0);
            CHECK(open_error(pcap) ==
                  pre + "not a tcprec archive (plain pcap? use tcprec -r to import it)");
        }
    }
    SECTION("pcapng") {
        Bytes ng = {0x0A, 0x0D, 0x0D, 0x0A, 0x1C, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A};
        CHECK(open_error(ng) == pre + "not a tcprec archive (pcapng? use tcprec -r to import it)");
    }
    SECTION("a pcap compressed with plain zstd") {
        const Bytes pcap = zstd_dc(sample_archive());
        Bytes z(ZSTD_compressBound(pcap.size()));
        z.resize(ZSTD_compress(z.data(), z.size(), pcap.data(), pcap.size(), 3));
        CHECK(open_error(z) == pre + "not a tcprec archive (zstd data without a tcprec header)");
    }
    SECTION("text") {
        const std::string s = "hello, this is not an archive\n";
        CHECK(open_error(Bytes(s.begin(), s.end())) == pre + "not a tcprec archive");
    }
    SECTION("the first bytes of an archive") {
        const Bytes file = sample_archive();
        for (size_t n : {1, 4, 12, 13, 39, 40, 100}) {
            INFO("first " << n << " bytes");
            CHECK(open_error(truncate_to(file, n)) == pre + kNoTrailer);
        }
    }
}

TEST_CASE("reader errors carry the error kind", "[archive]") {
    SpanSource empty(std::span<const uint8_t>{});
    try {
        ArchiveReader r(empty, "e");
        FAIL("opened an empty file");
    } catch (const tcpr::Error& e) {
        CHECK(e.kind() == tcpr::ErrorKind::Corrupt);
    }
}

TEST_CASE("looks_like_archive recognises the archive header and nothing else", "[archive]") {
    const Bytes file = sample_archive();
    CHECK(looks_like_archive(file));
    CHECK(looks_like_archive(truncate_to(file, 13)));
    CHECK_FALSE(looks_like_archive(truncate_to(file, 12)));
    CHECK_FALSE(looks_like_archive(flip_byte(file, 0)));
    CHECK_FALSE(looks_like_archive(flip_byte(file, 9)));
    CHECK_FALSE(looks_like_archive(zstd_dc(file)));
    // The trailer shares the skippable frame family but is not an archive header.
    CHECK_FALSE(looks_like_archive(Bytes(file.end() - 40, file.end())));
}

TEST_CASE("an unknown major version in the trailer is rejected with a clear message", "[archive]") {
    Bytes file = sample_archive();
    const Layout l = layout(file);
    const Bytes t = make_trailer(l.index_offset, l.index_size, 2, 3);
    file.resize(l.trailer_offset);
    file.insert(file.end(), t.begin(), t.end());
    CHECK(open_error(file) ==
          "cannot open archive 'x.pcap.zst': unsupported archive format "
          "version 2.3 (this build reads version 1)");
    SpanSource src(file);
    try {
        ArchiveReader r(src, "x");
        FAIL("opened");
    } catch (const tcpr::Error& e) {
        CHECK(e.kind() == tcpr::ErrorKind::Unsupported);
    }
}

TEST_CASE("an unknown major version in an index block is rejected with a clear message",
          "[archive]") {
    Bytes file = sample_archive();
    const Layout l = layout(file);
    const Bytes body = block_body(file, l.index_offset);
    const Bytes summary = make_block(2, 7, 0, body);
    const uint32_t old_size = le32(file.data() + l.index_offset + 4) + 8;
    Bytes rebuilt(file.begin(), file.begin() + static_cast<long>(l.index_offset));
    rebuilt.insert(rebuilt.end(), summary.begin(), summary.end());
    rebuilt.insert(rebuilt.end(), file.begin() + static_cast<long>(l.index_offset + old_size),
                   file.begin() + static_cast<long>(l.trailer_offset));
    const Bytes t = make_trailer(l.index_offset, rebuilt.size() - l.index_offset, 1, 0);
    rebuilt.insert(rebuilt.end(), t.begin(), t.end());
    CHECK(open_error(rebuilt) ==
          "cannot open archive 'x.pcap.zst': unsupported archive format "
          "version 7.0 (this build reads version 1)");
}

TEST_CASE("a later minor version's extra fields, blocks and trailer bytes are skipped",
          "[archive]") {
    const Bytes file = sample_archive();
    const Layout l = layout(file);
    SpanSource orig_src(file);
    const ArchiveReader orig(orig_src, "orig");

    // Summary with 6 unknown bytes appended, minor 4; an unknown block kind 9; the session
    // block as it was; a 48-byte trailer.
    Bytes summary_body = block_body(file, l.index_offset);
    summary_body.insert(summary_body.end(), {1, 2, 3, 4, 5, 6});
    const uint32_t old_size = le32(file.data() + l.index_offset + 4) + 8;
    Bytes rebuilt(file.begin(), file.begin() + static_cast<long>(l.index_offset));
    for (const Bytes& b : {make_block(2, 1, 4, summary_body), make_block(9, 1, 4, {42, 42})}) {
        rebuilt.insert(rebuilt.end(), b.begin(), b.end());
    }
    rebuilt.insert(rebuilt.end(), file.begin() + static_cast<long>(l.index_offset + old_size),
                   file.begin() + static_cast<long>(l.trailer_offset));
    const Bytes t = make_trailer(l.index_offset, rebuilt.size() - l.index_offset, 1, 4, 8);
    rebuilt.insert(rebuilt.end(), t.begin(), t.end());

    SpanSource src(rebuilt);
    const ArchiveReader reader(src, "newer");
    const ArchiveInfo& a = orig.info();
    const ArchiveInfo& b = reader.info();
    CHECK(b.format_version == 1);
    CHECK(b.format_minor == 4);
    CHECK(b.frames == a.frames);
    CHECK(b.packets == a.packets);
    CHECK(b.sessions.size() == a.sessions.size());
    CHECK(b.source == a.source);
    CHECK(read_records(reader) == read_records(orig));
    // And standard tools still read it.
    CHECK(zstd_dc(rebuilt) == zstd_dc(file));
}

TEST_CASE("an index block in the middle of the data frames is skipped by zstd", "[archive]") {
    // Requirement: skippable frames may appear anywhere. Insert one between two data frames
    // and check the stream and the reader (with a fixed-up index) are unaffected.
    const Bytes file = sample_archive();
    const std::vector<RawFrame> data = data_frames(file);
    REQUIRE(data.size() > 3);
    const Bytes junk = make_block(9, 1, 0, {1, 2, 3});
    Bytes with(file.begin(), file.begin() + static_cast<long>(data[2].offset));
    with.insert(with.end(), junk.begin(), junk.end());
    with.insert(with.end(), file.begin() + static_cast<long>(data[2].offset), file.end());
    CHECK(zstd_dc(with) == zstd_dc(file));
    // Repair finds every record.
    VectorSink out;
    const RepairResult r = repair_archive(SpanSource(with), "with", out);
    CHECK(r.damage.frames_damaged == 0);
    CHECK(read_records(out.data()) == mixed_records(800));
}
