// The input of an archive replay read as one stream of frames: our archives and pcap/pcapng
// files (several, globs expanded by expand_inputs) merged by capture time, packet by packet
// (ties: the earlier file first), so rotated archives of one capture read as the capture did.
// Memory: the decompressed archive frame (about 1 MiB) of each file being read, not the input:
// an archive's frames are decompressed only when the merge reaches them (the index gives their
// times), and a file's buffers are freed at its end, so rotated archives hold one at a time. Used
// by the loader (load.h: the whole recording, for --dry-run and the tests) and by the streaming
// source (source/stream_source.h), which reads it while the replay runs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <vector>

#include "common/archive/archive_reader.h"

namespace tcpr::replay {

struct InputFrame {
    uint64_t ts_ns = 0;
    uint32_t link_type = 0;          // LINKTYPE_* of its file
    std::span<const uint8_t> bytes;  // valid until the next call to next()
};

class InputStream {
  public:
    // Opens every file (throws tcpr::Error with one line naming it when one cannot be opened or
    // is not a capture). An archive without a usable trailer or index is rebuilt in memory from
    // its intact frames (recovered_from() says why). `port`: pcap files are filtered to it.
    InputStream(std::vector<std::string> paths, std::optional<uint16_t> port);
    ~InputStream();
    InputStream(const InputStream&) = delete;
    InputStream& operator=(const InputStream&) = delete;

    // The next frame in capture-time order; false at the end.
    bool next(InputFrame& out);
    // Back to the first frame (--loop).
    void rewind();

    // The server port most connections go to (archives: their index; pcap files: a first pass
    // counting SYNs), which orients connections captured without their handshake.
    std::optional<uint16_t> busiest_port() const;

    // "archive", "pcap/pcapng", "3 archives", "2 archives + 1 pcap/pcapng file".
    const std::string& format() const { return format_; }
    size_t files() const { return paths_.size(); }
    // The files, as rewind() opens them again.
    const std::vector<std::string>& paths() const { return paths_; }
    uint32_t first_link_type() const;
    // Archives whose index was unusable: "file: why", "; "-separated (empty: none).
    const std::string& recovered_from() const { return recovered_from_; }
    // Damaged frames skipped (and while rebuilding) in the first pass (so far), each line naming
    // its file when there are several.
    archive::DamageReport damage() const;

    class File;

  private:
    void open_all();

    std::vector<std::string> paths_;
    std::optional<uint16_t> port_;
    std::vector<std::unique_ptr<File>> files_;
    void queue(size_t i);
    void queue_read(size_t i);

    // A file's place in the merge: its next frame's time, or (bound) a lower bound of it from
    // an archive's index, the frame not read yet. Ties: the earlier file first.
    struct Entry {
        uint64_t ts;
        size_t file;
        bool bound;
        bool operator>(const Entry& o) const {
            return ts != o.ts ? ts > o.ts : file != o.file ? file > o.file : bound < o.bound;
        }
    };
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> next_;
    bool primed_ = false;
    size_t current_ = SIZE_MAX;  // the file whose frame next() returned last
    std::string format_, recovered_from_;
    std::optional<archive::DamageReport> first_pass_damage_;  // set at the first rewind()
};

}  // namespace tcpr::replay
