// tcpr::Error: the one exception type for "this operation cannot continue".
// Messages are one line: "what: subject: cause".
#pragma once

#include <stdexcept>
#include <string>

namespace tcpr {

enum class ErrorKind { Io, Corrupt, Unsupported, Network, Usage, Permission, Internal };

const char* to_string(ErrorKind kind);

class Error : public std::runtime_error {
  public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }

  private:
    ErrorKind kind_;
};

// Throws Error built from errno as captured by the caller: "<what>: <strerror(err)>".
// EACCES/EPERM map to ErrorKind::Permission, everything else to `kind`.
[[noreturn]] void throw_errno(const std::string& what, int err, ErrorKind kind = ErrorKind::Io);

}  // namespace tcpr
