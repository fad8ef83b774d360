#include "util/path_check.hpp"

#include <string>

namespace modelcache::util {

namespace {
std::string printable(std::string_view path) {
  std::string out;
  for (char c : path.substr(0, 80)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (path.size() > 80) out += "...";
  return out;
}

Status bad(std::string_view path, const char* why) {
  return fail(ErrorCode::kInvalidPath,
              "refusing file name from origin '" + printable(path) + "': " + why);
}
}  // namespace

Status validate_origin_path(std::string_view path) {
  if (path.empty()) return bad(path, "empty name");
  if (path.size() > 4096) return bad(path, "longer than 4096 bytes");
  if (path.front() == '/') return bad(path, "absolute path");
  for (char c : path) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\0') return bad(path, "contains NUL");
    if (c == '\\') return bad(path, "contains a backslash");
    if (u < 0x20 || u == 0x7f) return bad(path, "contains a control character");
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg.empty()) return bad(path, "empty path segment");
    if (seg == "." || seg == "..") return bad(path, "'.' or '..' segment");
    if (seg.size() > 255) return bad(path, "segment longer than 255 bytes");
    start = end + 1;
  }
  return {};
}

}  // namespace modelcache::util
