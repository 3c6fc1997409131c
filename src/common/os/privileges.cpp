#include "common/os/privileges.h"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/base/error.h"
#include "common/base/log.h"

namespace tcpr::os {

namespace {

// Every capability of every set (ambient, inheritable, permitted, effective) is given up.
void clear_capabilities() {
    // Ambient first: it cannot outlive the permitted and inheritable sets anyway. EINVAL: a
    // kernel without ambient capabilities (before 4.3).
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        throw Error(ErrorKind::Io,
                    std::string("cannot clear ambient capabilities: ") + std::strerror(errno));
    }
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capset, &header, none) != 0) {
        throw Error(ErrorKind::Io,
                    std::string("cannot give up capabilities: ") + std::strerror(errno));
    }
}

}  // namespace

bool drop_privileges(const std::string& user, bool asked) {
    if (::geteuid() != 0) {
        if (asked && user != "root") {
            log::warn("-Z %s: not running as root, nothing to switch", user.c_str());
        }
        // Started unprivileged with capabilities (a unit's AmbientCapabilities=CAP_NET_RAW):
        // everything they were needed for is open.
        clear_capabilities();
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            throw Error(ErrorKind::Io, std::string("no_new_privs: ") + std::strerror(errno));
        }
        return false;
    }
    if (user == "root") {
        return false;
    }
    errno = 0;
    const passwd* pw = ::getpwnam(user.c_str());
    if (pw == nullptr) {
        throw Error(ErrorKind::Usage, "-Z " + user +
                                          ": no such user on this host (give -Z root "
                                          "to keep running as root)");
    }
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    const auto fail = [&](const char* what) {
        throw Error(ErrorKind::Io,
                    std::string("-Z ") + user + ": " + what + ": " + std::strerror(errno));
    };
    if (::setgroups(0, nullptr) != 0) {
        fail("setgroups");
    }
    if (::setresgid(gid, gid, gid) != 0) {
        fail("setresgid");
    }
    // From uid 0 to another for all three uids: the kernel clears every permitted and
    // effective capability (no PR_SET_KEEPCAPS), and the ambient ones with them.
    if (::setresuid(uid, uid, uid) != 0) {
        fail("setresuid");
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        fail("no_new_privs");
    }
    if (uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
        errno = EPERM;
        fail("root could be regained");
    }
    log::debug("running as %s (uid %u, gid %u), no capability", user.c_str(),
               static_cast<unsigned>(uid), static_cast<unsigned>(gid));
    return true;
}

std::string as_user_hint(const std::string& user) {
    return " (as " + user + ", -Z: give -Z root, or paths " + user + " can read and write)";
}

}  // namespace tcpr::os
