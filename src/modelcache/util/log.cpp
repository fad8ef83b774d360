#include "util/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace modelcache::util {

LogLevel log_level() {
  static const LogLevel level = [] {
    const char* v = std::getenv("MODELCACHE_LOG");
    std::string s = v ? v : "";
    if (s == "error") return LogLevel::kError;
    if (s == "info") return LogLevel::kInfo;
    if (s == "debug") return LogLevel::kDebug;
    return LogLevel::kWarn;
  }();
  return level;
}

void log_line(LogLevel level, std::string_view message) {
  static std::mutex mu;
  static const char* kNames[] = {"error", "warn", "info", "debug"};
  std::lock_guard lock(mu);
  std::fprintf(stderr, "modelcache %s: %.*s\n", kNames[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
}

}  // namespace modelcache::util
