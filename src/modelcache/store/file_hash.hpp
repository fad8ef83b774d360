// Hashing whole files already on disk: a blob being verified, a file adopted
// from another cache. One read, every digest that is asked for.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "modelcache/error.hpp"

namespace modelcache::store {

enum class GitSha1 { kSkip, kCompute };

struct FileDigests {
  std::uint64_t size = 0;
  std::string sha256;   // lower-case hex
  std::string git_sha1; // sha1("blob <size>\0" + content); empty with GitSha1::kSkip
};

// Reads `path` once (following no symlink at its last component) and hashes it.
Result<FileDigests> hash_file(const std::filesystem::path& path, GitSha1 git = GitSha1::kSkip);

}  // namespace modelcache::store
