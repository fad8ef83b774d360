#include "util/lock_file.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

namespace modelcache::util {

namespace {
Result<UniqueFd> open_lock(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return std::unexpected(errno_error("open lock", path, errno));
  return fd;
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
