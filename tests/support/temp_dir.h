// A uniquely named temporary directory owned by one object, plus whole-file helpers for tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tcpr::test {

// Creates "$TMPDIR/<prefix>.XXXXXX" (TMPDIR defaults to /tmp) on construction (throws
// std::runtime_error if it cannot) and removes it with everything inside on destruction
// (quietly: a destructor never throws). Not copyable, not movable.
class TempDir {
  public:
    explicit TempDir(std::string_view prefix = "tcpr-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // path() / name
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

// Writes `bytes` to `path` (created or truncated). Throws std::runtime_error on failure.
void write_file(const std::filesystem::path& path, std::span<const uint8_t> bytes);
void write_file(const std::filesystem::path& path, std::string_view text);
// Reads the whole file. Throws std::runtime_error if it cannot be opened or read.
std::vector<uint8_t> read_file(const std::filesystem::path& path);

}  // namespace tcpr::test
