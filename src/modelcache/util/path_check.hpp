// Invariant 4: every path that comes from an origin is checked before it touches
// the filesystem. Accepted: relative, '/'-separated, each segment non-empty, not
// "." or "..", at most 255 bytes, no NUL, no backslash, no control characters;
// whole path at most 4096 bytes.
#pragma once

#include <string_view>

#include "modelcache/error.hpp"

namespace modelcache::util {

Status validate_origin_path(std::string_view path);

}  // namespace modelcache::util
