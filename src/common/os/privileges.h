// Least privilege after start-up, like tcpdump's -Z: once a program's sockets and captures are
// open it needs no privilege, so a process started as root becomes an ordinary user and keeps
// no capability. A process not started as root (a systemd unit with a dynamic user and an
// ambient CAP_NET_RAW) stays that user and gives up its capabilities.
#pragma once

#include <string>

namespace tcpr::os {

// The user -Z names by default.
inline constexpr const char* kDefaultUser = "nobody";

// Run as root: becomes `user` (its uid and primary group, no supplementary groups, no
// capability, no new privileges by exec); "root" keeps root. Not run as root: it stays who it
// is (with a warning when `asked` names another user) and gives up every capability. Throws
// Error(Usage) with one line for an unknown user, Error(Io) when the switch fails or could be
// undone. Returns true when the process became another user (files it opens from now on are checked
// against that user's rights).
bool drop_privileges(const std::string& user, bool asked);

// What a file error adds once drop_privileges switched users: who tried, and the way out:
// " (as nobody, -Z: give -Z root, or paths nobody can read and write)".
std::string as_user_hint(const std::string& user);

}  // namespace tcpr::os
