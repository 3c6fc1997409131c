#include "common/base/error.h"

#include <cerrno>
#include <cstring>

namespace tcpr {

const char* to_string(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::Io:
            return "io";
        case ErrorKind::Corrupt:
            return "corrupt";
        case ErrorKind::Unsupported:
            return "unsupported";
        case ErrorKind::Network:
            return "network";
        case ErrorKind::Usage:
            return "usage";
        case ErrorKind::Permission:
            return "permission";
        case ErrorKind::Internal:
            return "internal";
    }
    return "unknown";
}

void throw_errno(const std::string& what, int err, ErrorKind kind) {
    if (err == EACCES || err == EPERM) {
        kind = ErrorKind::Permission;
    }
    throw Error(kind, what + ": " + std::strerror(err));
}

}  // namespace tcpr
