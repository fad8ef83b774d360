// Minimal leveled logging to stderr. Level from MODELCACHE_LOG (error, warn,
// info, debug); default warn. Messages must never contain secrets: callers log
// URLs without query strings and never log header values.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace modelcache::util {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

LogLevel log_level();
void log_line(LogLevel level, std::string_view message);

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (level <= log_level()) log_line(level, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace modelcache::util
