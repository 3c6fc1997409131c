// A full disk while writing an archive: one error line, non-zero exit, nothing at the output
// path that looks whole. Uses a tiny tmpfs mounted (and always unmounted) by the test; needs root.
#include <algorithm>
#include <filesystem>
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using tcpr::test::run_command;

namespace {

// Mounts a tmpfs of `bytes` at `dir` for the lifetime of the object.
class TinyTmpfs {
  public:
    TinyTmpfs(const fs::path& dir, size_t bytes) : dir_(dir) {
        INFO("the disk-full test needs root to mount a tmpfs");
        REQUIRE(geteuid() == 0);
        const std::string opts = "size=" + std::to_string(bytes);
        REQUIRE(::mount("tcpr-tiny", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0);
    }
    ~TinyTmpfs() { ::umount2(dir_.c_str(), MNT_DETACH); }
    TinyTmpfs(const TinyTmpfs&) = delete;
    TinyTmpfs& operator=(const TinyTmpfs&) = delete;

  private:
    fs::path dir_;
};

}  // namespace

TEST_CASE("importing onto a full disk fails with one line and leaves no archive",
          "[e2e][recorder]") {
    const tcpr::test::TempDir tmp;
    const fs::path mnt = tmp.path() / "tiny";
    fs::create_directories(mnt);
    const fs::path tcprec = fs::path(TCPR_BINARY_DIR) / "src" / "tcprec";
    const fs::path input = fs::path(TCPR_SOURCE_DIR) / "samples" / "http.pcap";
    REQUIRE(fs::exists(input));
    // The sample compresses to ~27 kB; an 8 kB file system fills up in the middle of it.
    const TinyTmpfs fs_guard(mnt, 8 * 1024);
    const auto r = run_command(
        {tcprec.string(), "-q", "-r", input.string(), "-o", (mnt / "out.pcap.zst").string()},
        std::chrono::seconds(30));
    INFO(r.describe());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("No space left on device") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.rfind("tcprec: error: ", 0) == 0);
    CHECK_FALSE(fs::exists(mnt / "out.pcap.zst"));
    CHECK_FALSE(fs::exists(mnt / "out.pcap.zst.partial"));
}
