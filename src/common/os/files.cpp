#include "common/os/files.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/error.h"

namespace tcpr::os {
namespace {
std::string dir_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}
}  // namespace

AtomicFile::AtomicFile(std::string path, std::string tmp, UniqueFd fd)
    : path_(std::move(path)), tmp_(std::move(tmp)), fd_(std::move(fd)) {}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : path_(std::move(o.path_)),
      tmp_(std::move(o.tmp_)),
      fd_(std::move(o.fd_)),
      written_(o.written_),
      committed_(o.committed_),
      keep_(o.keep_) {
    o.committed_ = true;  // the moved-from object must not unlink anything
}

AtomicFile AtomicFile::create(const std::string& path, const std::string& tmp_path) {
    std::string tmp = tmp_path.empty() ? partial_name(path) : tmp_path;
    UniqueFd fd = UniqueFd::open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    return AtomicFile(path, std::move(tmp), std::move(fd));
}

AtomicFile AtomicFile::create_recording(const std::string& path) {
    const std::string partial = partial_name(path);
    if (file_exists(partial)) {
        throw Error(ErrorKind::Io, "cannot record to '" + path + "': '" + partial +
                                       "' exists (left by an interrupted recording? "
                                       "'tcprec --repair " +
                                       partial + "' recovers it; remove it to record anew)");
    }
    AtomicFile f = create(path);
    f.keep_partial_on_abort();
    return f;
}

AtomicFile::~AtomicFile() {
    if (!committed_ && !keep_ && !tmp_.empty()) {
        ::unlink(tmp_.c_str());
    }
}

void AtomicFile::write(std::span<const uint8_t> bytes) {
    const uint8_t* p = bytes.data();
    size_t left = bytes.size();
    while (left > 0) {
        const ssize_t n = ::write(fd_.get(), p, left);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("cannot write '" + tmp_ + "'", errno);
        }
        p += n;
        left -= static_cast<size_t>(n);
        written_ += static_cast<uint64_t>(n);
    }
}

void AtomicFile::commit() {
    if (::fsync(fd_.get()) != 0) {
        throw_errno("cannot sync '" + tmp_ + "'", errno);
    }
    fd_.close("cannot close '" + tmp_ + "'");
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
        throw_errno("cannot rename '" + tmp_ + "' to '" + path_ + "'", errno);
    }
    committed_ = true;
    // Make the rename durable; failure here is not worth failing the run for.
    const int dfd = ::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)::fsync(dfd);
        ::close(dfd);
    }
}

FileSource::FileSource(const std::string& path) : path_(path), fd_(UniqueFd::open(path, O_RDONLY)) {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) {
        throw_errno("cannot stat '" + path + "'", errno);
    }
    if (S_ISDIR(st.st_mode)) {
        throw Error(ErrorKind::Io, "cannot read '" + path + "': is a directory");
    }
    size_ = static_cast<uint64_t>(st.st_size);
}

size_t FileSource::read_at(uint64_t offset, std::span<uint8_t> out) const {
    size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done,
                                  static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("cannot read '" + path_ + "'", errno);
        }
        if (n == 0) {
            break;
        }
        done += static_cast<size_t>(n);
    }
    return done;
}

std::vector<uint8_t> read_head(const std::string& path, size_t n) {
    FileSource f(path);
    std::vector<uint8_t> out(std::min<uint64_t>(n, f.size()));
    out.resize(f.read_at(0, out));
    return out;
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {
    }, sb{};
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

void check_output_path(const std::string& path, const std::string& what) {
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "."
                            : slash == 0               ? "/"
                                                       : path.substr(0, slash);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        throw Error(ErrorKind::Io,
                    "cannot write '" + path + "' (" + what + "): no directory '" + dir + "'");
    }
    if (::access(dir.c_str(), W_OK) != 0) {
        throw Error(ErrorKind::Io, "cannot write '" + path + "' (" + what + "): directory '" + dir +
                                       "' is not writable");
    }
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        throw Error(ErrorKind::Io, "cannot write '" + path + "' (" + what + "): it is a directory");
    }
}

}  // namespace tcpr::os
