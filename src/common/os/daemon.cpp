#include "common/os/daemon.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/base/error.h"
#include "common/os/unique_fd.h"

namespace tcpr::os {
namespace {

std::string absolute(const std::string& path) {
    if (path.empty()) {
        return path;
    }
    std::error_code ec;
    const auto p = std::filesystem::absolute(path, ec);
    return ec ? path : p.string();
}

void write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        off += static_cast<size_t>(n);
    }
}

// In the original process: wait for the daemon's word, then leave without running destructors
// (the daemon owns the capture and the sockets now), or throw the daemon's error.
[[noreturn]] void parent_wait(UniqueFd ready, pid_t child) {
    std::string msg;
    char buf[512];
    while (true) {
        const ssize_t n = ::read(ready.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        msg.append(buf, static_cast<size_t>(n));
    }
    int status = 0;
    (void)waitpid(child, &status, 0);  // the intermediate child exits at once
    if (msg == "ok") {
        _exit(0);
    }
    if (msg.empty()) {
        msg = "the daemon exited during start-up";
    }
    throw Error(ErrorKind::Io, msg);
}

}  // namespace

PidFile PidFile::create(const std::string& path) {
    UniqueFd fd = UniqueFd::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const std::string text = std::to_string(::getpid()) + "\n";
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        throw_errno("cannot write pid file '" + path + "'", errno);
    }
    fd.close("cannot write pid file '" + path + "'");
    return PidFile(path);
}

PidFile::PidFile(PidFile&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }

PidFile::~PidFile() {
    if (path_.empty()) {
        return;
    }
    std::ifstream in(path_);
    long pid = 0;
    if (in >> pid && pid == static_cast<long>(::getpid())) {
        (void)::unlink(path_.c_str());
    }
}

PidFile daemonize(const DaemonOptions& opt) {
    const std::string logfile = absolute(opt.logfile);
    const std::string pidfile = absolute(opt.pidfile);
    UniqueFd log = UniqueFd::open(logfile.empty() ? "/dev/null" : logfile,
                                  O_WRONLY | O_CREAT | O_APPEND, 0644);
    UniqueFd null_in = UniqueFd::open("/dev/null", O_RDONLY);

    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
        throw_errno("cannot start the daemon", errno);
    }
    UniqueFd ready_r = UniqueFd::adopt(p[0]);
    UniqueFd ready_w = UniqueFd::adopt(p[1]);
    std::fflush(nullptr);

    const pid_t first = ::fork();
    if (first < 0) {
        throw_errno("cannot start the daemon: fork", errno);
    }
    if (first > 0) {
        ready_w = UniqueFd::adopt(-1);
        parent_wait(std::move(ready_r), first);
    }
    // First child: a new session without a controlling terminal, then a second fork so the
    // daemon is not a session leader and can never acquire a terminal again.
    ready_r = UniqueFd::adopt(-1);
    if (::setsid() < 0) {
        write_all(ready_w.get(),
                  std::string("cannot start the daemon: setsid: ") + std::strerror(errno));
        _exit(1);
    }
    const pid_t second = ::fork();
    if (second < 0) {
        write_all(ready_w.get(),
                  std::string("cannot start the daemon: fork: ") + std::strerror(errno));
        _exit(1);
    }
    if (second > 0) {
        _exit(0);
    }
    // The daemon.
    (void)::umask(022);
    if (::chdir("/") != 0) {
        // Not fatal: the daemon only keeps its start directory busy.
    }
    ::dup2(null_in.get(), STDIN_FILENO);
    ::dup2(log.get(), STDOUT_FILENO);
    ::dup2(log.get(), STDERR_FILENO);
    if (pidfile.empty()) {
        write_all(ready_w.get(), "ok");
        return PidFile::none();
    }
    try {
        PidFile pf = PidFile::create(pidfile);
        write_all(ready_w.get(), "ok");
        return pf;
    } catch (const Error& e) {
        write_all(ready_w.get(), e.what());
        _exit(1);
    }
}

}  // namespace tcpr::os
