// Running in the background: detach from the terminal, log to a file, keep a pid file.
#pragma once

#include <string>

namespace tcpr::os {

// Removes its pid file when destroyed, if the file still names this process.
class PidFile {
  public:
    // Writes "<pid>\n" to `path` (created or truncated). Throws "cannot write pid file ...".
    static PidFile create(const std::string& path);
    static PidFile none() { return PidFile(std::string()); }  // owns no file
    PidFile(PidFile&& o) noexcept;
    PidFile& operator=(PidFile&&) = delete;
    PidFile(const PidFile&) = delete;
    ~PidFile();
    const std::string& path() const { return path_; }

  private:
    explicit PidFile(std::string path) : path_(std::move(path)) {}
    std::string path_;
};

struct DaemonOptions {
    std::string logfile;  // stdout and stderr are appended here; empty = /dev/null
    std::string pidfile;  // written by the daemon; empty = none
};

// Detaches: the log file is opened first (an error is thrown here, in the foreground), then
// fork, setsid, fork again, chdir("/"), stdin from /dev/null, stdout/stderr to the log file.
// The original process waits until the daemon has written its pid file, then exits 0 (or
// throws the daemon's start-up error). Returns in the daemon only, with
// its pid file (empty path when none was asked). Call before starting any thread.
PidFile daemonize(const DaemonOptions& options);

}  // namespace tcpr::os
