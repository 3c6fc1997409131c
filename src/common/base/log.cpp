#include "common/base/log.h"

#include <cstdio>

namespace tcpr::log {
namespace {
const char* g_program = "tcpr";
Level g_level = Level::Info;

void vlog(Level lvl, const char* tag, const char* fmt, va_list ap) {
    if (!enabled(lvl)) {
        return;
    }
    char buf[2048];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    std::fprintf(stderr, "%s: %s: %s\n", g_program, tag, buf);
}
}  // namespace

void set_program(const char* name) { g_program = name; }
void set_level(Level lvl) { g_level = lvl; }
Level level() { return g_level; }
bool enabled(Level lvl) { return static_cast<int>(lvl) <= static_cast<int>(g_level); }

#define TCPR_LOG_FN(name, lvl)        \
    void name(const char* fmt, ...) { \
        va_list ap;                   \
        va_start(ap, fmt);            \
        vlog(lvl, #name, fmt, ap);    \
        va_end(ap);                   \
    }
TCPR_LOG_FN(error, Level::Error)
TCPR_LOG_FN(warn, Level::Warn)
TCPR_LOG_FN(info, Level::Info)
TCPR_LOG_FN(debug, Level::Debug)
#undef TCPR_LOG_FN

}  // namespace tcpr::log
