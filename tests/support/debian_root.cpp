#include "support/debian_root.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <sys/mount.h>
#include <thread>

#include <catch2/catch.hpp>

#include "support/e2e_helpers.h"

namespace tcpr::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

fs::path make_deb(const fs::path& out_dir) {
    const CommandResult pack = run_command(
        {"cpack", "-G", "DEB", "--config",
         (fs::path(TCPR_BINARY_DIR) / "CPackConfig.cmake").string(), "-B", out_dir.string()},
        240s);
    INFO(pack.describe());
    REQUIRE(pack.ok());
    std::vector<fs::path> debs;
    for (const auto& f : fs::directory_iterator(out_dir)) {
        if (f.path().extension() == ".deb") {
            debs.push_back(f.path());
        }
    }
    REQUIRE(debs.size() == 1);
    return debs[0];
}

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// "deb [arch=amd64 signed-by=...] URI SUITE COMPONENTS..." lines.
std::string mirror_from_list(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        line = line.substr(0, line.find('#'));
        const size_t open = line.find('[');
        if (open != std::string::npos) {
            const size_t close = line.find(']', open);
            line.erase(open, close == std::string::npos ? std::string::npos : close - open + 1);
        }
        const std::vector<std::string> w = split_words(line);
        if (w.size() >= 3 && w[0] == "deb" && w[2] == "bookworm") {
            return w[1];
        }
    }
    return "";
}

// deb822 stanzas ("Types: deb", "URIs: ...", "Suites: ...", "Enabled: no"), separated by empty
// lines; a line starting with a space continues the field before it.
std::string mirror_from_sources(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    std::map<std::string, std::string> stanza;
    std::string last;
    auto take = [&]() -> std::string {
        std::string found;
        if (contains(split_words(stanza["types"]), "deb") &&
            contains(split_words(stanza["suites"]), "bookworm") &&
            !contains(split_words(lower(stanza["enabled"])), "no") &&
            !split_words(stanza["uris"]).empty()) {
            found = split_words(stanza["uris"])[0];
        }
        stanza.clear();
        last.clear();
        return found;
    };
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] == '#') {
            continue;
        }
        if (line.find_first_not_of(" \t") == std::string::npos) {
            if (const std::string m = take(); !m.empty()) {
                return m;
            }
            continue;
        }
        if (line[0] == ' ' || line[0] == '\t') {
            if (!last.empty()) {
                stanza[last] += " " + line;
            }
            continue;
        }
        const size_t colon = line.find(':');
        if (colon != std::string::npos) {
            last = lower(line.substr(0, colon));
            stanza[last] = line.substr(colon + 1);
        }
    }
    return take();
}

// /proc/self/mountinfo escapes a space in a path as \040 (octal).
std::string unescape_mount_path(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<std::string> mounts_below(const fs::path& dir) {
    std::vector<std::string> out;
    const std::string d = dir.string();
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        const std::vector<std::string> w = split_words(line);
        if (w.size() < 5) {
            continue;
        }
        const std::string point = unescape_mount_path(w[4]);
        if (point == d || point.rfind(d + "/", 0) == 0) {
            out.push_back(point);
        }
    }
    return out;
}

// Once per process: a mount namespace of its own in which every mount is private, so nothing
// mounted from now on (by this process or its children) propagates to the host, and all of it
// goes away with the last process in the namespace.
void enter_private_mount_namespace() {
    static bool entered = false;
    if (entered) {
        return;
    }
    if (::unshare(CLONE_NEWNS) != 0) {
        throw std::runtime_error(std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno));
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        throw std::runtime_error(std::string("making / private: ") + std::strerror(errno));
    }
    entered = true;
}

const std::vector<std::string> kCleanEnv{"/usr/bin/env", "-i",
                                         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                         "/sbin:/bin",
                                         "HOME=/root", "LC_ALL=C.UTF-8"};

std::vector<pid_t> children_of(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    std::vector<pid_t> out;
    pid_t child = 0;
    while (in >> child) {
        out.push_back(child);
    }
    return out;
}

std::string comm_of(pid_t pid) {
    std::string comm = read_text("/proc/" + std::to_string(pid) + "/comm");
    while (!comm.empty() && comm.back() == '\n') {
        comm.pop_back();
    }
    return comm;
}

}  // namespace

std::string debian_mirror_from(const std::vector<std::string>& list,
                               const std::vector<std::string>& sources) {
    for (const auto& text : list) {
        if (std::string m = mirror_from_list(text); !m.empty()) {
            return m;
        }
    }
    for (const auto& text : sources) {
        if (std::string m = mirror_from_sources(text); !m.empty()) {
            return m;
        }
    }
    return "";
}

std::string debian_mirror() {
    std::vector<std::string> list{read_text("/etc/apt/sources.list")};
    std::vector<std::string> sources;
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator("/etc/apt/sources.list.d", ec)) {
        files.push_back(f.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        if (f.extension() == ".list") {
            list.push_back(read_text(f));
        } else if (f.extension() == ".sources") {
            sources.push_back(read_text(f));
        }
    }
    // One-line entries first, as apt reads sources.list before sources.list.d.
    return debian_mirror_from(list, sources);
}

int unmount_below(const fs::path& dir) {
    // Deepest first; a lazy unmount (MNT_DETACH) cannot fail for being busy. Mounts stacked on
    // one point come off one per round.
    for (int round = 0; round < 8; ++round) {
        std::vector<std::string> points = mounts_below(dir);
        if (points.empty()) {
            return 0;
        }
        std::sort(points.begin(), points.end(),
                  [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
        for (const auto& p : points) {
            ::umount2(p.c_str(), MNT_DETACH);
        }
    }
    return static_cast<int>(mounts_below(dir).size());
}

DebianRoot::DebianRoot() : dir_("tcpr-debian-root"), root_(dir_ / "root") {
    enter_private_mount_namespace();
    fs::create_directory(root_);
    if (::mount("tcpr-debian-root", root_.c_str(), "tmpfs", 0, "mode=0755,size=4g") != 0) {
        throw std::runtime_error("cannot mount a tmpfs on " + root_.string() + ": " +
                                 std::strerror(errno));
    }
}

DebianRoot::~DebianRoot() {
    // The root's files live in the tmpfs and go with it: TempDir then removes an empty
    // directory. Were anything still mounted, the directory is moved out of TempDir's way rather
    // than recursed into (the mounts end with the namespace when this process exits).
    if (unmount_below(root_) != 0) {
        std::error_code ec;
        fs::rename(dir_.path(), dir_.path().string() + ".busy", ec);
    }
}

CommandResult DebianRoot::run(const std::vector<std::string>& argv,
                              std::chrono::milliseconds timeout) const {
    std::vector<std::string> full{"chroot", root_.string()};
    full.insert(full.end(), kCleanEnv.begin(), kCleanEnv.end());
    full.push_back("DEBIAN_FRONTEND=noninteractive");
    full.insert(full.end(), argv.begin(), argv.end());
    return run_command(full, timeout);
}

BootedRoot::BootedRoot(const DebianRoot& root, const std::string& name, const fs::path& console_log,
                       std::chrono::milliseconds timeout)
    : name_(name) {
    const auto deadline = Clock::now() + timeout;
    nspawn_ = start_process(
        {"unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "systemd-nspawn", "--quiet",
         "--boot", "--directory", root.path().string(), "--machine", name, "--private-network",
         "--register=no", "--keep-unit", "--console=read-only"},
        "nspawn", console_log, console_log);
    // unshare's child is nspawn, whose child is the booted systemd.
    const bool found = wait_until(
        [&] {
            for (pid_t n : children_of(nspawn_->pid())) {
                for (pid_t c : children_of(n)) {
                    if (comm_of(c) == "systemd") {
                        nspawn_pid_ = n;
                        init_pid_ = c;
                        return true;
                    }
                }
            }
            return !nspawn_->running();
        },
        timeout);
    if (!found || init_pid_ == 0) {
        throw std::runtime_error("systemd-nspawn did not start systemd:\n" + console());
    }
    // Until the manager listens, systemctl cannot connect; --wait then waits for the boot to end.
    CommandResult state;
    while (Clock::now() < deadline) {
        state = run({"systemctl", "is-system-running", "--wait"},
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
        if (state.out.find("running") != std::string::npos ||
            state.out.find("degraded") != std::string::npos) {
            return;
        }
        std::this_thread::sleep_for(200ms);
    }
    throw std::runtime_error("the booted system did not finish starting: " + state.describe() +
                             "\n--- console ---\n" + console());
}

BootedRoot::~BootedRoot() {
    if (nspawn_ != nullptr) {
        power_off(30s);
    }
}

std::string BootedRoot::console() const { return read_text(nspawn_->stdout_path()); }

CommandResult BootedRoot::run(const std::vector<std::string>& argv,
                              std::chrono::milliseconds timeout) const {
    std::vector<std::string> full{"nsenter", "--target", std::to_string(init_pid_),
                                  "--all",   "--root",   "--wd"};
    full.insert(full.end(), kCleanEnv.begin(), kCleanEnv.end());
    full.push_back("SYSTEMD_PAGER=");
    full.push_back("SYSTEMD_COLORS=0");
    full.insert(full.end(), argv.begin(), argv.end());
    return run_command(full, timeout);
}

bool BootedRoot::power_off(std::chrono::milliseconds timeout) {
    bool halted = !nspawn_->running();
    if (!halted && nspawn_pid_ > 0) {
        // nspawn asks the booted systemd to power off (SIGRTMIN+4) and exits when it has. While
        // unshare runs, nspawn (its child) is not reaped, so its pid is not reused.
        ::kill(nspawn_pid_, SIGTERM);
        halted = nspawn_->wait(timeout).has_value();
    }
    // unshare and nspawn are killed; the kernel then ends everything in their PID namespace.
    nspawn_->kill();
    // nspawn keeps a directory per machine here and cannot always remove it (it refuses to
    // remove anything outside a tmpfs).
    std::error_code ec;
    fs::remove(fs::path("/run/systemd/nspawn/propagate") / name_, ec);
    return halted;
}

}  // namespace tcpr::test
