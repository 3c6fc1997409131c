// libFuzzer target: arbitrary bytes as an archive. Opening, reading every record and frame,
// verify and repair must never crash, hang or throw anything but tcpr::Error(Corrupt /
// Unsupported); and whatever repair writes must itself open and verify clean.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//       tests/fuzz/archive_reader_fuzz.cpp <tcpr_common sources> -lzstd -ltins
//   ./archive_reader_fuzz -max_len=16384 tests/data/good
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "common/archive/archive_reader.h"
#include "common/archive/byte_io.h"
#include "common/base/error.h"

namespace {

using namespace tcpr::archive;

bool expected_kind(const tcpr::Error& e) {
    return e.kind() == tcpr::ErrorKind::Corrupt || e.kind() == tcpr::ErrorKind::Unsupported;
}

void read_everything(const ByteSource& src) {
    try {
        const ArchiveReader reader(src, "fuzz.pcap.zst");
        const ArchiveInfo& info = reader.info();
        uint64_t bytes = 0;
        const DamageReport rep = reader.for_each_record([&](const Record& r) {
            bytes += r.bytes.size() + r.orig_len + r.ts_ns;
            return true;
        });
        if (rep.frames_ok + rep.frames_damaged != info.frames.size()) {
            std::abort();
        }
        std::vector<uint8_t> buf;
        std::string why;
        for (size_t i = 0; i <= info.frames.size(); ++i) {
            (void)reader.read_frame(i, buf, &why);
        }
    } catch (const tcpr::Error& e) {
        if (!expected_kind(e)) {
            std::abort();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> bytes(data, size);
    const SpanSource src(bytes);
    (void)looks_like_archive(bytes);
    read_everything(src);

    // verify never throws for damage (a SpanSource has no I/O errors): an escaping exception
    // is a finding.
    (void)verify_archive(src, "fuzz.pcap.zst");

    VectorSink out;
    try {
        (void)repair_archive(src, "fuzz.pcap.zst", out);
    } catch (const tcpr::Error& e) {
        if (!expected_kind(e)) {
            std::abort();
        }
        return 0;
    }
    // A repaired archive is always a clean archive.
    const SpanSource repaired(out.data());
    try {
        const ArchiveReader reader(repaired, "repaired");
        (void)reader;
    } catch (const tcpr::Error&) {
        std::abort();
    }
    if (!verify_archive(repaired, "repaired").clean()) {
        std::abort();
    }
    return 0;
}
