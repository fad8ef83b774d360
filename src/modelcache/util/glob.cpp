#include "util/glob.hpp"

#include <fnmatch.h>

namespace modelcache::util {

bool glob_match(std::string_view pattern, std::string_view path) {
  std::string p(pattern);
  if (!p.empty() && p.back() == '/') p += '*';
  return ::fnmatch(p.c_str(), std::string(path).c_str(), 0) == 0;
}

bool is_selected(std::string_view path, const std::vector<std::string>& allow,
                 const std::vector<std::string>& ignore) {
  for (const auto& g : ignore) {
    if (glob_match(g, path)) return false;
  }
  if (allow.empty()) return true;
  for (const auto& g : allow) {
    if (glob_match(g, path)) return true;
  }
  return false;
}

}  // namespace modelcache::util
