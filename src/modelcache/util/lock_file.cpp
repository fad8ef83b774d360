#include "util/lock_file.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "util/beneath.hpp"

namespace modelcache::util {

namespace {
Result<UniqueFd> open_lock(const fs::path& path) {
  // A planted symlink is an error naming it, not replaced: the name is ours, but
  // unlinking it could race another process that is creating the real lock file.
  return open_beneath(path, O_RDWR | O_CREAT, 0644);
}
}  // namespace

Result<LockFile> LockFile::acquire(const fs::path& path, LockKind kind) {
  auto fd = open_lock(path);
  if (!fd) return std::unexpected(fd.error());
  int op = kind == LockKind::kShared ? LOCK_SH : LOCK_EX;
  while (::flock(fd->get(), op) != 0) {
    if (errno != EINTR) return std::unexpected(errno_error("lock", path, errno));
  }
  return LockFile(std::move(*fd));
}

Result<std::optional<LockFile>> LockFile::try_acquire(const fs::path& path, LockKind kind) {
  auto fd = open_lock(path);
  if (!fd) return std::unexpected(fd.error());
  int op = (kind == LockKind::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  while (::flock(fd->get(), op) != 0) {
    if (errno == EWOULDBLOCK) return std::optional<LockFile>();
    if (errno != EINTR) return std::unexpected(errno_error("lock", path, errno));
  }
  return std::optional<LockFile>(LockFile(std::move(*fd)));
}

}  // namespace modelcache::util
