#include "store/lease.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/beneath.hpp"

namespace modelcache::store {

namespace {

Result<util::UniqueFd> open_lease(const fs::path& path) {
  for (int attempt = 0;; ++attempt) {
    // Walks from the root without following a planted symlink (util/beneath.hpp).
    auto fd = util::open_beneath(path, O_RDWR | O_CREAT, 0644);
    if (fd) return fd;
    // The lease directory is created on first use only, so a warm pull does not write.
    if (util::exists(path.parent_path()) || attempt > 3) return fd;
    if (auto s = util::make_dirs(path.parent_path()); !s) return std::unexpected(s.error());
  }
}

// True when `fd` is still the file at `path` (gc did not unlink it while we waited).
bool still_linked(int fd, const fs::path& path) {
  struct stat a {
  }, b{};
  if (::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int flock_retry(int fd, int op) {
  int r;
  do r = ::flock(fd, op);
  while (r != 0 && errno == EINTR);
  return r;
}

}  // namespace

Result<Lease> Lease::acquire(const Layout& layout, std::string_view folder, std::string_view id) {
  fs::path path = layout.lease(folder, id);
  for (;;) {
    auto fd = open_lease(path);
    if (!fd) return std::unexpected(fd.error());
    if (flock_retry(fd->get(), LOCK_SH) != 0)
      return std::unexpected(util::errno_error("lock", path, errno));
    if (!still_linked(fd->get(), path)) continue;
    struct stat st {};
    if (::fstat(fd->get(), &st) == 0 && util::unix_now() - st.st_mtime >= kTouchInterval.count()) {
      ::futimens(fd->get(), nullptr);  // last used; best effort
    }
    return Lease(std::move(*fd), std::move(path));
  }
}

Result<std::optional<Lease>> Lease::try_exclusive(const Layout& layout, std::string_view folder,
                                                  std::string_view id) {
  fs::path path = layout.lease(folder, id);
  for (;;) {
    auto fd = open_lease(path);
    if (!fd) return std::unexpected(fd.error());
    if (flock_retry(fd->get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return std::optional<Lease>();
      return std::unexpected(util::errno_error("lock", path, errno));
    }
    if (!still_linked(fd->get(), path)) continue;
    return std::optional<Lease>(Lease(std::move(*fd), std::move(path)));
  }
}

void Lease::remove_file() { (void)util::remove_file(path_); }

std::int64_t last_used_ns(const Layout& layout, std::string_view folder, std::string_view id) {
  struct stat st {};
  if (::stat(layout.lease(folder, id).c_str(), &st) != 0 &&
      ::stat(layout.manifest(folder, id).c_str(), &st) != 0) {
    return 0;
  }
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::int64_t last_used(const Layout& layout, std::string_view folder, std::string_view id) {
  return last_used_ns(layout, folder, id) / 1'000'000'000;
}

}  // namespace modelcache::store
