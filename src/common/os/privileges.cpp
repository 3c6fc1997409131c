#include "common/os/privileges.h"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/base/error.h"
#include "common/base/log.h"

namespace tcpr::os {

void drop_privileges(const std::string& user, bool asked) {
    if (::geteuid() != 0) {
        if (asked && user != "root") {
            log::warn("-Z %s: not running as root, nothing to drop", user.c_str());
        }
        return;
    }
    if (user == "root") {
        return;
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
}

}  // namespace tcpr::os
