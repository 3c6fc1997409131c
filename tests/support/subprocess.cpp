#include "support/subprocess.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace tcpr::test {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string join_command(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) {
        if (!s.empty()) {
            s += ' ';
        }
        const bool quote = a.empty() || a.find_first_of(" \t'\"$;|&<>*?") != std::string::npos;
        s += quote ? "'" + a + "'" : a;
    }
    return s;
}

namespace {

int decode_status(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

// Forks and execs argv as the leader of a new process group, with stdin from /dev/null and
// stdout/stderr on the given descriptors. The child dies with the test process. Returns the
// pid; throws std::runtime_error if the program cannot be executed.
pid_t spawn_child(const std::vector<std::string>& argv, int out_fd, int err_fd,
                  const std::string& cwd = "") {
    if (argv.empty()) {
        throw std::runtime_error("spawn: empty command");
    }
    std::vector<char*> cargv;
    for (const auto& a : argv) {
        cargv.push_back(const_cast<char*>(a.c_str()));
    }
    cargv.push_back(nullptr);
    int exec_err[2];
    if (::pipe2(exec_err, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    const char* dir = cwd.empty() ? nullptr : cwd.c_str();
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int e = errno;
        ::close(exec_err[0]);
        ::close(exec_err[1]);
        throw std::runtime_error(std::string("fork: ") + std::strerror(e));
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls from here to exec.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);
        }
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            ::dup2(devnull, 0);
        }
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        if (dir != nullptr && ::chdir(dir) != 0) {
            const int e = errno;
            (void)!::write(exec_err[1], &e, sizeof e);
            ::_exit(127);
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::signal(SIGINT, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        ::execvp(cargv[0], cargv.data());
        const int e = errno;
        (void)!::write(exec_err[1], &e, sizeof e);
        ::_exit(127);
    }
    // Parent: also set the group here so a signal sent right away reaches the group.
    ::setpgid(pid, pid);
    ::close(exec_err[1]);
    int e = 0;
    ssize_t n;
    do {
        n = ::read(exec_err[0], &e, sizeof e);
    } while (n < 0 && errno == EINTR);
    ::close(exec_err[0]);
    if (n == static_cast<ssize_t>(sizeof e)) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        throw std::runtime_error("cannot run '" + argv[0] + "': " + std::strerror(e));
    }
    return pid;
}

class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = -1;
    }

  private:
    int fd_;
};

}  // namespace

// ---- CommandResult -----------------------------------------------------------------------

std::string CommandResult::describe() const {
    std::string s = "'" + command + "' exited " + std::to_string(exit_code);
    if (timed_out) {
        s += " (timed out, killed)";
    }
    s += "\n--- stdout ---\n" + out.substr(0, 4000) + "\n--- stderr ---\n" + err.substr(0, 4000);
    return s;
}

// ---- Process -----------------------------------------------------------------------------

Process::Process(std::string name, std::string command, pid_t pid, fs::path out, fs::path err)
    : name_(std::move(name)),
      command_(std::move(command)),
      pid_(pid),
      out_path_(std::move(out)),
      err_path_(std::move(err)) {}

Process::~Process() { (void)kill(); }

std::string Process::stdout_text() const { return read_text(out_path_); }
std::string Process::stderr_text() const { return read_text(err_path_); }

bool Process::try_reap() {
    if (exit_code_) {
        return true;
    }
    // Look without reaping first: while the leader is a zombie its pid (and so the group id)
    // cannot be reused, so killing the rest of its group is safe.
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        info.si_pid == 0) {
        return false;
    }
    ::killpg(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    exit_code_ = decode_status(status);
    return true;
}

void Process::signal(int sig) {
    if (!try_reap()) {
        ::kill(pid_, sig);
    }
}

void Process::signal_group(int sig) {
    if (!try_reap()) {
        ::killpg(pid_, sig);
    }
}

std::optional<int> Process::wait(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!try_reap()) {
        if (Clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(milliseconds(10));
    }
    return exit_code_;
}

bool Process::running() { return !try_reap(); }

int Process::kill() {
    if (!try_reap()) {
        ::killpg(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        exit_code_ = decode_status(status);
    }
    return *exit_code_;
}

// ---- helpers -----------------------------------------------------------------------------

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return "";
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool wait_until(const std::function<bool()>& cond, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        if (cond()) {
            return true;
        }
        if (Clock::now() >= deadline) {
            return cond();
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
}

CommandResult run_command(const std::vector<std::string>& argv, milliseconds timeout,
                          const std::string& cwd) {
    CommandResult r;
    r.command = join_command(argv);
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
    const pid_t pid = spawn_child(argv, out_w.get(), err_w.get(), cwd);
    out_w.reset();
    err_w.reset();
    const auto deadline = Clock::now() + timeout;
    bool out_open = true, err_open = true;
    std::optional<int> status;
    char buf[65536];
    while (out_open || err_open || !status) {
        if (!status) {
            siginfo_t info{};
            if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                info.si_pid == pid) {
                // Lingering children of the command (holding the pipes) go with it; the leader
                // is still a zombie, so its group id cannot have been reused.
                ::killpg(pid, SIGKILL);
                int st = 0;
                while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
                }
                status = decode_status(st);
            }
        }
        const auto now = Clock::now();
        if (now >= deadline && !r.timed_out) {
            r.timed_out = true;
            ::killpg(pid, SIGKILL);
        }
        pollfd fds[2];
        nfds_t n = 0;
        if (out_open) {
            fds[n++] = pollfd{out_r.get(), POLLIN, 0};
        }
        if (err_open) {
            fds[n++] = pollfd{err_r.get(), POLLIN, 0};
        }
        if (n == 0) {
            if (!status) {
                std::this_thread::sleep_for(milliseconds(5));
            }
            continue;
        }
        const int pr = ::poll(fds, n, 20);
        if (pr <= 0) {
            continue;
        }
        for (nfds_t i = 0; i < n; ++i) {
            if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                continue;
            }
            const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR) {
                continue;
            }
            const bool is_out = fds[i].fd == out_r.get();
            if (got <= 0) {
                (is_out ? out_open : err_open) = false;
            } else {
                (is_out ? r.out : r.err).append(buf, static_cast<size_t>(got));
            }
        }
    }
    r.exit_code = *status;
    return r;
}

std::unique_ptr<Process> start_process(const std::vector<std::string>& argv,
                                       const std::string& name, const fs::path& stdout_path,
                                       const fs::path& stderr_path) {
    Fd out_fd(::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    Fd err_fd(::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (out_fd.get() < 0 || err_fd.get() < 0) {
        throw std::runtime_error("cannot create " + stdout_path.string() + ": " +
                                 std::strerror(errno));
    }
    const pid_t pid = spawn_child(argv, out_fd.get(), err_fd.get());
    return std::make_unique<Process>(name, join_command(argv), pid, stdout_path, stderr_path);
}

}  // namespace tcpr::test
