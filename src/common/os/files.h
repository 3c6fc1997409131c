// File-backed archive sinks/sources and atomic publication of outputs.
#pragma once

#include <cstdint>
#include <string>

#include "common/archive/byte_io.h"
#include "common/os/unique_fd.h"

namespace tcpr::os {

// Writes an output under a temporary name ("<path>.partial") and publishes it with commit():
// fsync, rename over <path>, fsync the directory. If destroyed without commit(), the partial
// file is removed, unless keep_partial_on_abort() was called (a recording interrupted by an
// error keeps its frames for `tcprec --repair`). A SIGKILLed writer leaves "<path>.partial",
// never a file at <path> that looks whole.
class AtomicFile final : public archive::ByteSink {
  public:
    // `tmp_path` overrides the temporary name (default partial_name(path)).
    static AtomicFile create(const std::string& path, const std::string& tmp_path = "");
    AtomicFile(AtomicFile&&) noexcept;
    AtomicFile& operator=(AtomicFile&&) = delete;
    ~AtomicFile() override;

    void write(std::span<const uint8_t> bytes) override;  // throws on short write / ENOSPC
    uint64_t position() const override { return written_; }

    void commit();
    void keep_partial_on_abort() { keep_ = true; }
    const std::string& path() const { return path_; }
    const std::string& partial_path() const { return tmp_; }

    static std::string partial_name(const std::string& path) { return path + ".partial"; }
    // A recording's file (tcprec, tcpreplay2 --record): refused with one line when the
    // ".partial" of an interrupted recording is there (never truncate what remains of it), kept
    // as ".partial" when the recording is cut by an error, for `tcprec --repair`.
    static AtomicFile create_recording(const std::string& path);

  private:
    AtomicFile(std::string path, std::string tmp, UniqueFd fd);
    std::string path_, tmp_;
    UniqueFd fd_;
    uint64_t written_ = 0;
    bool committed_ = false;
    bool keep_ = false;
};

// Read-only file as an archive::ByteSource (pread; safe from several threads).
class FileSource final : public archive::ByteSource {
  public:
    explicit FileSource(const std::string& path);  // throws "cannot open '<path>': ..."
    uint64_t size() const override { return size_; }
    size_t read_at(uint64_t offset, std::span<uint8_t> out) const override;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
    UniqueFd fd_;
    uint64_t size_ = 0;
};

// Reads the first `n` bytes of a file (fewer if shorter). Throws if it cannot be opened.
std::vector<uint8_t> read_head(const std::string& path, size_t n);
bool file_exists(const std::string& path);
// Can a file be created at `path`: its directory exists and is writable? Throws
// Error(Io) with one line naming `what` ("--report json") otherwise. For outputs written at the
// end of a long run: checked before the run, so its result is never lost to a typo.
void check_output_path(const std::string& path, const std::string& what);
// True if both names exist and are the same file (same device and inode).
bool same_file(const std::string& a, const std::string& b);

}  // namespace tcpr::os
