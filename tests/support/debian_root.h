// The Debian package built by CPack, a clean Debian root to install it in (debootstrap, chroot)
// and that root booted by systemd-nspawn, so the package's units run under a real systemd.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace tcpr::test {

// Builds the package the way scripts/package does (cpack -G DEB with the build tree's
// CPackConfig.cmake) into `out_dir` and returns the path of the one .deb there. REQUIREs that
// cpack succeeds and makes exactly one (Catch2 assertions: only inside a test).
std::filesystem::path make_deb(const std::filesystem::path& out_dir);

// The URI this machine's apt takes Debian 12 (suite "bookworm") from: the first "deb" entry for
// that suite in /etc/apt/sources.list, then in /etc/apt/sources.list.d/*.list (one-line format)
// and *.sources (deb822), in name order. "" if there is none.
std::string debian_mirror();

// The same from the given files' text: `list` in the one-line format, `sources` in deb822.
std::string debian_mirror_from(const std::vector<std::string>& list,
                               const std::vector<std::string>& sources);

// An empty directory for a Debian root: a tmpfs of its own (dpkg syncs every file it unpacks,
// which costs nothing on a tmpfs: debootstrap takes half the time), mounted in a mount namespace
// that this test process enters on first use, with every mount in it private. No mount made
// there, by the test or by a program it runs (debootstrap mounts /proc and /sys in the root),
// is seen outside or can outlive the process. Destroying the object unmounts everything at or
// below path() (so the root's contents go with the tmpfs) and removes the directory, quietly.
// Throws std::runtime_error if the namespace or the tmpfs cannot be made.
class DebianRoot {
  public:
    DebianRoot();
    ~DebianRoot();
    DebianRoot(const DebianRoot&) = delete;
    DebianRoot& operator=(const DebianRoot&) = delete;

    const std::filesystem::path& path() const { return root_; }

    // Runs argv inside the root with chroot(8), with a clean environment (PATH, HOME=/root,
    // LC_ALL=C.UTF-8, DEBIAN_FRONTEND=noninteractive).
    CommandResult run(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

  private:
    TempDir dir_;
    std::filesystem::path root_;
};

// Unmounts (lazily, deepest first) every mount of this mount namespace at or below `dir`.
// Returns how many could not be unmounted.
int unmount_below(const std::filesystem::path& dir);

// The root booted by `systemd-nspawn --boot` as machine `name`: systemd as PID 1 of its own PID
// namespace, loopback only (--private-network), not registered with a machined (this host's
// PID 1 need not be systemd). nspawn itself runs as PID 1 of a PID namespace of its own (unshare
// --pid --kill-child), so when it dies, for any reason, the kernel ends the booted system too.
// The console goes to `console_log`. Destroying the object powers the system off (SIGTERM to
// nspawn), kills what is left after 30 s and removes nspawn's directory for the machine.
// Throws std::runtime_error (with the console) if systemd is not running within `timeout`.
class BootedRoot {
  public:
    BootedRoot(const DebianRoot& root, const std::string& name,
               const std::filesystem::path& console_log,
               std::chrono::milliseconds timeout = std::chrono::seconds(60));
    ~BootedRoot();
    BootedRoot(const BootedRoot&) = delete;
    BootedRoot& operator=(const BootedRoot&) = delete;

    // The booted systemd (PID 1 inside), as this process sees it.
    pid_t init_pid() const { return init_pid_; }
    std::string console() const;

    // Runs argv inside (nsenter into every namespace of the booted systemd), with a clean
    // environment (PATH, LC_ALL=C.UTF-8, no pager, no colours).
    CommandResult run(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

    // Powers the system off and waits up to `timeout` for nspawn to exit; true if it did.
    // Anything left is killed.
    bool power_off(std::chrono::milliseconds timeout);

  private:
    std::string name_;
    std::unique_ptr<Process> nspawn_;  // unshare, whose child is nspawn
    pid_t nspawn_pid_ = 0;
    pid_t init_pid_ = 0;
};

}  // namespace tcpr::test
