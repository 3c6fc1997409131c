// --record in live passthrough: the archive of the capture written while copying (tcprec's
// way: AtomicFile + ArchiveWriter, compression on a worker thread so the copy loop never
// waits). A write error stops the recording, never the copying; the frames written so far stay
// in the partial file for `tcprec --repair`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/archive/archive_writer.h"
#include "common/os/files.h"
#include "common/os/pcap_source.h"

namespace tcpr::replay {

class LiveRecorder {
  public:
    // Creates the partial file (before -d detaches: its errors reach the terminal). Throws
    // Error(Io) when it cannot, or when a partial file of an interrupted recording is there.
    explicit LiveRecorder(const std::string& path);
    LiveRecorder(const LiveRecorder&) = delete;
    LiveRecorder& operator=(const LiveRecorder&) = delete;

    // Starts the writer (after -d: its worker thread must not cross the fork).
    void start(const os::PacketSource& capture, uint16_t server_port, int level);

    // A captured packet; after a write error, nothing.
    void add(const os::CapturedPacket& p);
    // Flushes to the disk if the last flush is a second old (a crash loses at most that).
    void flush_if_due(uint64_t now_ns);
    // The archive's size so far, for the status line.
    std::string size_text() const;

    // Finishes and publishes the archive (capture totals in its index). Returns the report's
    // line: "PATH (N packets, SIZE)", or "FAILED: ..." with error() set.
    std::string finish(const os::CaptureCounters& capture);
    const std::string& error() const { return error_; }

  private:
    std::string path_;
    os::AtomicFile file_;
    std::unique_ptr<archive::ArchiveWriter> writer_;
    std::string error_;  // set when writing failed: recording stopped, copying goes on
    uint64_t last_flush_ = 0;
};

}  // namespace tcpr::replay
