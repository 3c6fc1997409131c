#include "common/archive/archive_writer.h"

#include <catch2/catch.hpp>
#include <zstd.h>

#include "archive_test_util.h"
#include "common/archive/archive_reader.h"
#include "common/base/error.h"

using namespace tcpr::archive;
using namespace tcpr::archive::test;

namespace {

// A sink that fails like a full disk once it holds `limit` bytes.
class FullDiskSink final : public ByteSink {
  public:
    explicit FullDiskSink(uint64_t limit) : limit_(limit) {}
    void write(std::span<const uint8_t> bytes) override {
        if (data_.size() + bytes.size() > limit_) {
            throw tcpr::Error(tcpr::ErrorKind::Io, "write 'out.pcap.zst': No space left on device");
        }
        data_.insert(data_.end(), bytes.begin(), bytes.end());
    }
    uint64_t position() const override { return data_.size(); }

  private:
    uint64_t limit_;
    Bytes data_;
};

}  // namespace

TEST_CASE("round trip keeps every record's bytes, orig_len and ns timestamp across many frames",
          "[archive]") {
    const std::vector<Rec> recs = mixed_records(3000);
    const Bytes file = write_archive(recs, small_frames(16384));

    SpanSource src(file);
    ArchiveReader reader(src, "t.pcap.zst");
    REQUIRE(reader.info().frames.size() > 50);
    DamageReport rep;
    const std::vector<Rec> back = read_records(reader, &rep);
    CHECK(rep.clean());
    CHECK(rep.frames_ok == reader.info().frames.size());
    CHECK(rep.records == recs.size());
    REQUIRE(back.size() == recs.size());
    for (size_t i = 0; i < recs.size(); ++i) {
        INFO("record " << i);
        REQUIRE(back[i] == recs[i]);
    }
}

TEST_CASE("decompressing the whole archive gives one nanosecond pcap file", "[archive]") {
    const std::vector<Rec> recs = mixed_records(500);
    WriterOptions opt = small_frames(8192);
    opt.snaplen = 65535;
    opt.link_type = 1;
    const Bytes file = write_archive(recs, opt);

    const Pcap p = parse_pcap(zstd_dc(file));
    CHECK(p.magic == 0xA1B23C4D);
    CHECK(p.major == 2);
    CHECK(p.minor == 4);
    CHECK(p.snaplen == 65535);
    CHECK(p.link_type == 1);
    CHECK(p.records == recs);

    // The layout zstd sees: our header block, the pcap header frame, data frames, index
    // blocks, trailer.
    const std::vector<RawFrame> frames = raw_frames(file);
    REQUIRE(frames.size() >= 5);
    CHECK(frames.front().magic == 0x184D2A53);
    CHECK(frames[1].magic == 0xFD2FB528);
    CHECK(ZSTD_getFrameContentSize(file.data() + frames[1].offset, frames[1].size) == 24);
    CHECK(frames.back().magic == 0x184D2A54);
    CHECK(frames.back().size == 40);
    CHECK(le32(file.data() + file.size() - 4) == 0x72706374);  // "tcpr"
}

TEST_CASE("every data frame pledges its content size and carries a checksum", "[archive]") {
    const Bytes file = write_archive(mixed_records(400), small_frames(8192));
    const std::vector<RawFrame> data = data_frames(file);
    REQUIRE(data.size() > 5);
    SpanSource src(file);
    ArchiveReader reader(src, "t");
    REQUIRE(reader.info().frames.size() == data.size());
    for (size_t i = 0; i < data.size(); ++i) {
        const uint8_t* p = file.data() + data[i].offset;
        CHECK(ZSTD_getFrameContentSize(p, data[i].size) == reader.info().frames[i].decompressed);
        CHECK((p[4] & 0x04) != 0);  // Content_Checksum_flag
        CHECK(reader.info().frames[i].offset == data[i].offset);
        CHECK(reader.info().frames[i].compressed == data[i].size);
    }
}

TEST_CASE("a data frame closes before it would exceed frame_bytes", "[archive]") {
    // Every record is 16 + 100 bytes: 8 of them fit in 1000 bytes, the 9th starts a new frame.
    std::vector<Rec> recs;
    for (uint64_t i = 0; i < 50; ++i) {
        recs.push_back(Rec{1'000'000'000 + i, 100, Bytes(100, static_cast<uint8_t>(i))});
    }
    const Bytes file = write_archive(recs, small_frames(1000));
    SpanSource src(file);
    ArchiveReader reader(src, "t");
    const auto& frames = reader.info().frames;
    REQUIRE(frames.size() == 7);  // 6 x 8 + 2
    for (size_t i = 0; i < 6; ++i) {
        CHECK(frames[i].packets == 8);
        CHECK(frames[i].decompressed == 8 * 116);
    }
    CHECK(frames[6].packets == 2);
    CHECK(frames[0].first_ns == 1'000'000'000);
    CHECK(frames[0].last_ns == 1'000'000'007);
}

TEST_CASE("a record larger than frame_bytes gets a frame of its own", "[archive]") {
    std::vector<Rec> recs = {Rec{1, 10, Bytes(10, 1)}, Rec{2, 3000, Bytes(3000, 2)},
                             Rec{3, 10, Bytes(10, 3)}};
    const Bytes file = write_archive(recs, small_frames(1000));
    SpanSource src(file);
    ArchiveReader reader(src, "t");
    REQUIRE(reader.info().frames.size() == 3);
    CHECK(reader.info().frames[1].packets == 1);
    CHECK(reader.info().frames[1].decompressed == 3016);
    CHECK(read_records(reader) == recs);
}

TEST_CASE("a data frame closes once it spans frame_span of capture time", "[archive]") {
    // Records every 100 ms; a 1 s span: a frame holds t0 .. t0+900ms, t0+1s opens the next.
    std::vector<Rec> recs;
    const uint64_t t0 = 1'700'000'000'000'000'000ull;
    for (uint64_t i = 0; i < 35; ++i) {
        recs.push_back(Rec{t0 + i * 100'000'000, 60, Bytes(60, 7)});
    }
    WriterOptions opt = small_frames(1 << 20);
    opt.frame_span = std::chrono::seconds(1);
    const Bytes file = write_archive(recs, opt);
    SpanSource src(file);
    ArchiveReader reader(src, "t");
    const auto& frames = reader.info().frames;
    REQUIRE(frames.size() == 4);
    CHECK(frames[0].packets == 10);
    CHECK(frames[1].packets == 10);
    CHECK(frames[2].packets == 10);
    CHECK(frames[3].packets == 5);
    CHECK(frames[1].first_ns == t0 + 1'000'000'000);
    CHECK(frames[1].last_ns == t0 + 1'900'000'000);
}

TEST_CASE("a timestamp going backwards does not close a frame by time", "[archive]") {
    const uint64_t t0 = 5'000'000'000;
    std::vector<Rec> recs = {Rec{t0, 10, Bytes(10, 1)}, Rec{t0 - 4'000'000'000, 10, Bytes(10, 2)},
                             Rec{t0 + 100, 10, Bytes(10, 3)}};
    WriterOptions opt = small_frames(1 << 20);
    opt.frame_span = std::chrono::seconds(1);
    const Bytes file = write_archive(recs, opt);
    SpanSource src(file);
    ArchiveReader reader(src, "t");
    REQUIRE(reader.info().frames.size() == 1);
    CHECK(reader.info().frames[0].first_ns == t0 - 4'000'000'000);
    CHECK(reader.info().frames[0].last_ns == t0 + 100);
    CHECK(reader.info().first_ns == t0 - 4'000'000'000);
    CHECK(reader.info().last_ns == t0 + 100);
    CHECK(read_records(reader) == recs);
}

TEST_CASE("flush closes the current frame and writes it to the sink at once", "[archive]") {
    VectorSink sink;
    ArchiveWriter w(sink, small_frames(1 << 20));
    const uint64_t header_bytes = sink.position();
    REQUIRE(header_bytes > 0);
    CHECK(w.stats().file_bytes == header_bytes);

    w.add(1'000, 10, Bytes(10, 1));
    w.add(2'000, 10, Bytes(10, 2));
    CHECK(sink.position() == header_bytes);  // still filling the frame
    w.flush();
    CHECK(w.stats().frames == 1);
    CHECK(sink.position() > header_bytes);
    CHECK(sink.position() == w.stats().file_bytes);

    const uint64_t after_first = sink.position();
    w.flush();  // nothing to close
    CHECK(w.stats().frames == 1);
    CHECK(sink.position() == after_first);

    w.add(3'000, 10, Bytes(10, 3));
    w.finish();
    SpanSource src(sink.data());
    ArchiveReader reader(src, "t");
    REQUIRE(reader.info().frames.size() == 2);
    CHECK(reader.info().frames[0].packets == 2);
    CHECK(reader.info().frames[1].packets == 1);
}

TEST_CASE("a recording killed mid-frame loses only the frame it was filling", "[archive]") {
    // What a SIGKILL leaves behind: everything the writer had handed to the sink.
    const std::vector<Rec> recs = mixed_records(400);
    VectorSink sink;
    ArchiveWriter w(sink, small_frames(8192));
    size_t written_through = 0;  // records whose frame is in the sink
    for (size_t i = 0; i < recs.size(); ++i) {
        const uint64_t frames_before = w.stats().frames;
        w.add(recs[i].ts_ns, recs[i].orig_len, recs[i].bytes);
        if (w.stats().frames != frames_before) {
            written_through = i;  // record i opened a new frame: 0..i-1 are written
        }
    }
    REQUIRE(written_through > 100);
    const Bytes left = sink.data();  // no finish(): no index, no trailer

    CHECK(open_error(left) == "cannot open archive 'x.pcap.zst': " + kNoTrailer);
    VectorSink out;
    const RepairResult res = repair_archive(SpanSource(left), "x.pcap.zst", out);
    CHECK(res.records_kept == written_through);
    CHECK(res.damage.frames_damaged == 0);
    const std::vector<Rec> back = read_records(out.data());
    CHECK(back ==
          std::vector<Rec>(recs.begin(), recs.begin() + static_cast<long>(written_through)));
}

TEST_CASE("the background writer writes the same bytes as the foreground writer", "[archive]") {
    const std::vector<Rec> recs = mixed_records(2000);
    WriterOptions fg = small_frames(8192);
    WriterOptions bg = fg;
    bg.background = true;
    const Bytes a = write_archive(recs, fg, {3, 4});
    VectorSink sink;
    {
        ArchiveWriter w(sink, bg);
        for (size_t i = 0; i < recs.size(); ++i) {
            w.add(recs[i].ts_ns, recs[i].orig_len, recs[i].bytes);
            if (i % 500 == 0) {
                w.flush();
            }
        }
        w.finish({3, 4});
        CHECK(w.stats().file_bytes == sink.position());
    }
    // Same frames closed at the same records (flush() included) -> the same file.
    VectorSink sink_fg;
    {
        ArchiveWriter w(sink_fg, fg);
        for (size_t i = 0; i < recs.size(); ++i) {
            w.add(recs[i].ts_ns, recs[i].orig_len, recs[i].bytes);
            if (i % 500 == 0) {
                w.flush();
            }
        }
        w.finish({3, 4});
    }
    CHECK(sink.data() == sink_fg.data());
    CHECK(a.size() > 0);
    CHECK(read_records(sink.data()) == recs);
}

TEST_CASE("a background writer destroyed without finish still writes the frames it closed",
          "[archive]") {
    const std::vector<Rec> recs = mixed_records(600);
    VectorSink sink;
    size_t closed_through = 0;
    {
        WriterOptions opt = small_frames(8192);
        opt.background = true;
        ArchiveWriter w(sink, opt);
        for (size_t i = 0; i < recs.size(); ++i) {
            const uint64_t frames_before = w.stats().frames;
            w.add(recs[i].ts_ns, recs[i].orig_len, recs[i].bytes);
            if (w.stats().frames != frames_before) {
                closed_through = i;
            }
        }
    }  // e.g. the capture loop threw: no finish(), no trailer
    REQUIRE(closed_through > 100);
    CHECK(open_error(sink.data()) == "cannot open archive 'x.pcap.zst': " + kNoTrailer);
    VectorSink out;
    const RepairResult res = repair_archive(SpanSource(sink.data()), "x.pcap.zst", out);
    CHECK(res.damage.frames_damaged == 0);
    CHECK(read_records(out.data()) ==
          std::vector<Rec>(recs.begin(), recs.begin() + static_cast<long>(closed_through)));
}

TEST_CASE("a sink failure in the background worker is rethrown on the caller's thread",
          "[archive]") {
    const std::vector<Rec> recs = mixed_records(3000);
    FullDiskSink sink(20000);
    WriterOptions opt = small_frames(4096);
    opt.background = true;
    ArchiveWriter w(sink, opt);
    std::string error;
    try {
        for (const Rec& r : recs) {
            w.add(r.ts_ns, r.orig_len, r.bytes);
        }
        w.finish();
    } catch (const tcpr::Error& e) {
        error = e.what();
        CHECK(e.kind() == tcpr::ErrorKind::Io);
    }
    CHECK(error == "write 'out.pcap.zst': No space left on device");
    // The writer stays failed: every later call reports the same error.
    CHECK_THROWS_WITH(w.flush(), "write 'out.pcap.zst': No space left on device");
    CHECK_THROWS_WITH(w.finish(), "write 'out.pcap.zst': No space left on device");
}

TEST_CASE("a sink failure in the foreground writer is thrown by the add that closes the frame",
          "[archive]") {
    VectorSink probe;
    ArchiveWriter measure(probe, small_frames(1000));
    FullDiskSink sink(probe.position() + 10);  // room for the header frames only
    ArchiveWriter w(sink, small_frames(1000));
    CHECK_NOTHROW(w.add(1, 600, Bytes(600, 1)));
    CHECK_THROWS_WITH(w.add(2, 600, Bytes(600, 2)),
                      "write 'out.pcap.zst': No space left on device");
    CHECK_THROWS_WITH(w.add(3, 6, Bytes(6, 3)), "write 'out.pcap.zst': No space left on device");
}

TEST_CASE("the writer refuses records after finish", "[archive]") {
    VectorSink sink;
    ArchiveWriter w(sink, small_frames());
    w.add(1, 10, Bytes(10, 1));
    w.finish();
    CHECK_THROWS_AS(w.add(2, 10, Bytes(10, 1)), tcpr::Error);
    CHECK_THROWS_AS(w.finish(), tcpr::Error);
}

TEST_CASE("writer options out of range are rejected with a usage error", "[archive]") {
    VectorSink sink;
    WriterOptions o;
    o.snaplen = 0;
    CHECK_THROWS_WITH(ArchiveWriter(sink, o), "snaplen 0 is outside 1..67108864");
    o = WriterOptions{};
    o.frame_bytes = 0;
    CHECK_THROWS_WITH(ArchiveWriter(sink, o), "frame size 0 is outside 1..67108864");
    o = WriterOptions{};
    o.level = 99;
    try {
        ArchiveWriter w(sink, o);
        FAIL("level 99 accepted");
    } catch (const tcpr::Error& e) {
        CHECK(e.kind() == tcpr::ErrorKind::Usage);
        CHECK(std::string(e.what()).rfind("zstd compression level 99 is outside", 0) == 0);
    }
}

TEST_CASE("bytes beyond snaplen are cut and counted, orig_len is kept", "[archive]") {
    WriterOptions o = small_frames();
    o.snaplen = 64;
    VectorSink sink;
    ArchiveWriter w(sink, o);
    w.add(10, 1500, Bytes(100, 9));
    w.add(20, 10, Bytes(30, 8));  // orig_len below caplen is raised to caplen
    CHECK(w.stats().cut_to_snaplen == 1);
    w.finish();
    const std::vector<Rec> back = read_records(sink.data());
    REQUIRE(back.size() == 2);
    CHECK(back[0] == Rec{10, 1500, Bytes(64, 9)});
    CHECK(back[1] == Rec{20, 30, Bytes(30, 8)});
    CHECK(parse_pcap(zstd_dc(sink.data())).snaplen == 64);
}

TEST_CASE("an archive without records is valid and decompresses to a bare pcap header",
          "[archive]") {
    VectorSink sink;
    ArchiveWriter w(sink, small_frames());
    w.finish({7, 1});
    SpanSource src(sink.data());
    ArchiveReader reader(src, "t");
    CHECK(reader.info().frames.empty());
    CHECK(reader.info().packets == 0);
    CHECK(reader.info().kernel_drops == 7);
    CHECK(reader.info().interface_drops == 1);
    CHECK(reader.info().pcap_bytes == 24);
    const Bytes pcap = zstd_dc(sink.data());
    CHECK(pcap.size() == 24);
    CHECK(parse_pcap(pcap).records.empty());
    CHECK(verify_archive(src, "t").clean());
}

TEST_CASE("writer stats count packets, bytes, frames and not-indexed reasons", "[archive]") {
    VectorSink sink;
    ArchiveWriter w(sink, small_frames(1 << 20));
    const Bytes syn = ipv4_tcp(0x0a000001, 0x0a000002, Tcp{40000, 80, 1, 0, kSyn, ""});
    const Bytes udp = ipv4_udp(0x0a000001, 0x0a000002);
    const Bytes a = arp();
    w.add(1, static_cast<uint32_t>(syn.size()), syn);
    w.add(2, static_cast<uint32_t>(udp.size()), udp);
    w.add(3, static_cast<uint32_t>(a.size()), a);
    const WriterStats s = w.stats();
    CHECK(s.packets == 3);
    CHECK(s.indexed == 1);
    CHECK(s.sessions == 1);
    CHECK(s.pcap_bytes == 24 + 3 * 16 + syn.size() + udp.size() + a.size());
    CHECK(s.frames == 0);
    CHECK(s.not_indexed.of(tcpr::net::SkipReason::NotTcp) == 1);
    CHECK(s.not_indexed.of(tcpr::net::SkipReason::NotIp) == 1);
    w.finish();
    CHECK(w.stats().frames == 1);
    CHECK(w.stats().file_bytes == sink.position());
}

TEST_CASE("an unsupported link type stores every record and indexes none", "[archive]") {
    WriterOptions o = small_frames();
    o.link_type = 147;  // LINKTYPE_USER0
    const Bytes syn = ipv4_tcp(0x0a000001, 0x0a000002, Tcp{40000, 80, 1, 0, kSyn, ""});
    const Bytes file = write_archive({Rec{1, static_cast<uint32_t>(syn.size()), syn}}, o);
    SpanSource src(file);
    ArchiveReader reader(src, "t");
    CHECK(reader.info().link_type == 147);
    CHECK(reader.info().packets == 1);
    CHECK(reader.info().indexed == 0);
    CHECK(reader.info().not_indexed.of(tcpr::net::SkipReason::UnsupportedLink) == 1);
    CHECK(parse_pcap(zstd_dc(file)).link_type == 147);
}
