// Least privilege after start-up, like tcpdump's -Z: once a program's sockets and captures are
// open it needs no privilege, so a process started as root becomes an ordinary user and keeps
// no capability. A process not started as root (a systemd unit with a dynamic user and an
// ambient CAP_NET_RAW) is left as it is.
#pragma once

#include <string>

namespace tcpr::os {

// The user -Z names by default.
inline constexpr const char* kDefaultUser = "nobody";

// Run as root: becomes `user` (its uid and primary group, no supplementary groups, no
// capability, no new privileges by exec); "root" keeps root. Not run as root: nothing (with a
// warning when `asked` names another user). Throws Error(Usage) with one line for an unknown
// user, Error(Io) when the switch fails or could be undone.
void drop_privileges(const std::string& user, bool asked);

}  // namespace tcpr::os
