// Move-only owner of a file descriptor. Factories throw tcpr::Error with errno context.
#pragma once

#include <string>
#include <utility>

namespace tcpr::os {

class UniqueFd {
  public:
    // Opens with O_CLOEXEC always. Throws "cannot open '<path>': <strerror>".
    static UniqueFd open(const std::string& path, int flags, int mode = 0644);
    static UniqueFd adopt(int fd) { return UniqueFd(fd); }

    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();  // closes quietly

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    // Closes now and reports failure (e.g. delayed write errors on NFS) by throwing.
    void close(const std::string& what);

  private:
    explicit UniqueFd(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace tcpr::os
