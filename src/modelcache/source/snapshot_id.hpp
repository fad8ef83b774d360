// Origins without commits (plain HTTP, local paths) name a snapshot by hashing
// what identifies its content; 40 hex keeps ids the same width as Hub commits.
#pragma once

#include <string>
#include <string_view>

#include "util/hasher.hpp"

namespace modelcache::source {

inline std::string derived_snapshot_id(std::string_view material) {
  return util::sha256_hex(material).substr(0, 40);
}

}  // namespace modelcache::source
