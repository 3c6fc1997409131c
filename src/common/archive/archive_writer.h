// Writes a .pcap.zst archive: independent zstd frames of whole pcap records, a session index
// in skippable frames, and a trailer. See docs/archive-format.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/archive/byte_io.h"
#include "common/base/stats.h"
#include "common/net/skip_reason.h"
#include "common/session/session_tracker.h"

namespace tcpr::archive {

struct WriterOptions {
    uint32_t link_type = 1;  // LINKTYPE_* value written into the pcap header
    uint32_t snaplen = 262144;
    int level = 3;                    // zstd level
    uint32_t frame_bytes = 1u << 20;  // close a data frame once it holds this much pcap
    std::chrono::nanoseconds frame_span = std::chrono::seconds(1);  // ... or spans this long
    bool background = false;              // compress on a worker thread (live capture)
    std::optional<uint16_t> server_port;  // orients sessions captured without their SYN
    std::string source;                   // free text for `info`: "live eth0 'tcp port 80'", ...
};

// What the writer has done so far (cheap to read, for the status line and summaries).
struct WriterStats {
    uint64_t packets = 0;     // records written
    uint64_t indexed = 0;     // records that decoded as TCP and went into the session index
    uint64_t pcap_bytes = 0;  // uncompressed pcap bytes (header + records)
    uint64_t file_bytes = 0;  // compressed bytes written to the sink so far
    uint64_t frames = 0;      // data frames closed
    uint64_t sessions = 0;
    uint64_t cut_to_snaplen = 0;  // records longer than snaplen, stored cut to snaplen
    net::SkipCounts not_indexed;  // why some records are in the pcap but not in the index
};

// Capture statistics recorded in the index by ArchiveWriter::finish().
struct CaptureTotals {
    uint64_t kernel_drops = 0;
    uint64_t interface_drops = 0;
};

// Not thread safe: one thread calls add()/flush()/finish(). With options.background the
// compression runs on an internal worker; the sink is then written from that worker.
class ArchiveWriter {
  public:
    // Writes the archive header frames at once. Throws tcpr::Error if the sink fails, or
    // Error(Usage) for options out of range (snaplen or frame_bytes 0 or > 64 MiB, level).
    ArchiveWriter(ByteSink& sink, WriterOptions options);
    ~ArchiveWriter();  // does not finish(): an unfinished archive has no trailer
    ArchiveWriter(const ArchiveWriter&) = delete;
    ArchiveWriter& operator=(const ArchiveWriter&) = delete;

    // Appends one record: capture time in ns since the epoch, original length, captured bytes
    // (at most snaplen). Every record is stored; only decodable TCP is indexed. Bytes beyond
    // snaplen are cut (counted in stats().cut_to_snaplen); orig_len is raised to at least the
    // stored length, so the pcap stays valid. Throws tcpr::Error if the sink (or, in background
    // mode, the worker) failed; the writer is then unusable.
    void add(uint64_t ts_ns, uint32_t orig_len, std::span<const uint8_t> bytes);
    // Closes the current data frame now (no-op if empty), e.g. every second of a quiet capture.
    void flush();
    // Closes the last frame, writes the index and the trailer. Further add() calls throw.
    // `extra` adds capture statistics (kernel drops) to the index header.
    using CaptureTotals = archive::CaptureTotals;
    void finish(CaptureTotals extra = CaptureTotals());

    WriterStats stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tcpr::archive
