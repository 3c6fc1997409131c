// Leveled stderr logger for the programs: "<prog>: <level>: <message>".
// Library code under common/ (except os/ and cli/) never calls it.
#pragma once

#include <cstdarg>

namespace tcpr::log {

enum class Level { Error = 0, Warn = 1, Info = 2, Debug = 3 };

// Not thread safe to change; set once in main before threads start.
void set_program(const char* name);
void set_level(Level level);
Level level();
bool enabled(Level level);

void error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace tcpr::log
