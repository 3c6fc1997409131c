#include "common/os/unique_fd.h"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "common/base/error.h"

namespace tcpr::os {

UniqueFd UniqueFd::open(const std::string& path, int flags, int mode) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) {
        throw_errno("cannot open '" + path + "'", errno);
    }
    return UniqueFd(fd);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
}

UniqueFd::~UniqueFd() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void UniqueFd::close(const std::string& what) {
    const int fd = std::exchange(fd_, -1);
    if (fd >= 0 && ::close(fd) != 0) {
        throw_errno(what, errno);
    }
}

}  // namespace tcpr::os
