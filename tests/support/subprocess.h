// Running programs from tests: a command with a timeout and captured output, or a background
// process owned by an object. Children run as leaders of their own process group (so a timeout
// or teardown kills everything they started) and die with the test process (PR_SET_PDEATHSIG).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace tcpr::test {

// What a finished (or timed-out) command did.
struct CommandResult {
    std::string command;  // the argv joined with spaces, for messages
    int exit_code = -1;   // exit status; 128 + N when killed by signal N
    bool timed_out = false;
    std::string out, err;

    bool ok() const { return !timed_out && exit_code == 0; }
    // "'cmd' exited 3 [timed out]\n--- stdout ---\n...\n--- stderr ---\n..." for failure messages.
    std::string describe() const;
};

// A background child process in its own process group (a process group leader), with stdout
// and stderr redirected to files. Destroying it kills the whole group with SIGKILL and reaps
// the leader. It also dies if the test process dies (PR_SET_PDEATHSIG), so a test killed by a
// timeout leaves no daemon behind.
class Process {
  public:
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process();

    pid_t pid() const { return pid_; }
    const std::string& name() const { return name_; }
    const std::string& command() const { return command_; }
    const std::filesystem::path& stdout_path() const { return out_path_; }
    const std::filesystem::path& stderr_path() const { return err_path_; }
    std::string stdout_text() const;
    std::string stderr_text() const;

    // Sends `sig` to the leader only (SIGINT to a recorder) or to the whole group.
    void signal(int sig);
    void signal_group(int sig);
    // Waits up to `timeout` for the leader to exit. Returns its exit code (128 + N for signal
    // N) or nullopt if it is still running. Once it has exited, the rest of its group is killed.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    bool running();
    // SIGKILL to the group, then reap. Returns the exit code (128 + 9 unless it had exited).
    int kill();

    // Takes ownership of a running child (the leader of its own process group).
    Process(std::string name, std::string command, pid_t pid, std::filesystem::path out,
            std::filesystem::path err);

  private:
    bool try_reap();

    std::string name_, command_;
    pid_t pid_;
    std::filesystem::path out_path_, err_path_;
    std::optional<int> exit_code_;
};

// Runs argv (PATH is searched) with stdin from /dev/null, in `cwd` if not empty, and captures
// stdout and stderr. After `timeout` the command's process group is killed (timed_out = true).
// Throws std::runtime_error if the program cannot be executed.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30),
                          const std::string& cwd = "");

// Starts argv in the background with stdout/stderr appended to the given files.
// Throws std::runtime_error if the program cannot be executed.
std::unique_ptr<Process> start_process(const std::vector<std::string>& argv,
                                       const std::string& name,
                                       const std::filesystem::path& stdout_path,
                                       const std::filesystem::path& stderr_path);

// argv joined with spaces, quoted where needed (for messages).
std::string join_command(const std::vector<std::string>& argv);

// The whole file as text ("" if it cannot be read).
std::string read_text(const std::filesystem::path& path);
// Polls `cond` every 20 ms until it is true or `timeout` has passed; returns the last result.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

}  // namespace tcpr::test
