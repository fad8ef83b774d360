// Shared by the store's tests: a blob committed the way a pull commits one.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "store/store.hpp"
#include "util/atomic_file.hpp"
#include "util/hasher.hpp"

namespace modelcache::store::test_support {

// Writes `content` as a part file and commits it as a blob; returns its sha256.
inline std::string add_blob(Store& s, const std::string& content) {
  std::string sha = util::sha256_hex(content);
  auto part = s.layout().part_file(sha);
  EXPECT_TRUE(util::write_file_atomic(part, content));
  EXPECT_TRUE(s.commit_blob(part, sha));
  return sha;
}

}  // namespace modelcache::store::test_support
