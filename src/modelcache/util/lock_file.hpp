// Advisory whole-file locks (flock) for coordination between processes and
// threads. The kernel drops a lock when its holder dies, so a waiter takes over
// from a crashed process without any stale-lock detection.
#pragma once

#include <filesystem>
#include <optional>

#include "modelcache/error.hpp"
#include "util/fs.hpp"

namespace modelcache::util {

enum class LockKind { kShared, kExclusive };

class LockFile {
 public:
  // Blocks until the lock is held.
  static Result<LockFile> acquire(const fs::path& path, LockKind kind);
  // Returns std::nullopt when another holder has it.
  static Result<std::optional<LockFile>> try_acquire(const fs::path& path, LockKind kind);

  LockFile(LockFile&&) noexcept = default;
  LockFile& operator=(LockFile&&) noexcept = default;
  ~LockFile() = default;  // closing the descriptor releases the lock

 private:
  explicit LockFile(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace modelcache::util
