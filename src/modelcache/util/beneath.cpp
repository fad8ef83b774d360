#include "util/beneath.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <vector>

namespace modelcache::util {

namespace {

std::mutex g_mutex;
std::vector<fs::path> g_roots;  // registered by Store::open; a handful per process
std::optional<gid_t> g_group;

// The longest registered root that lexically contains `path` (paths come from
// store::Layout, so they are built from the root as given).
std::optional<fs::path> root_of(const fs::path& path) {
  std::lock_guard lock(g_mutex);
  std::optional<fs::path> best;
  for (const fs::path& root : g_roots) {
    fs::path rel = path.lexically_relative(root);
    // The root itself is not beneath it: opening it follows links like any path.
    if (rel.empty() || rel == "." || *rel.begin() == "..") continue;
    if (!best || root.native().size() > best->native().size()) best = root;
  }
  return best;
}

Error planted(const fs::path& path) {
  return Error{ErrorCode::kIo, "refusing to follow the symlink " + path.string() +
                                   " inside the cache (modelcache never creates one there): remove it"};
}

bool is_symlink_at(int dir, const std::string& name) {
  struct stat st {};
  return ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

}  // namespace

Result<UniqueFd> open_dir_at(int dir, const std::string& name, const fs::path& full,
                             MissingDirs missing) {
  bool created = false;
  for (int attempt = 0;; ++attempt) {
    UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd) {
      // The umask strips group bits that shared mode needs. fchmod on the
      // descriptor: by name it could follow a link swapped in since mkdirat.
      if (created && shared_group()) ::fchmod(fd.get(), dir_mode());
      return fd;
    }
    int err = errno;
    if (err == ENOENT && missing == MissingDirs::kCreate && attempt < 3) {
      if (::mkdirat(dir, name.c_str(), dir_mode()) == 0) {
        created = true;
      } else if (errno != EEXIST) {
        return std::unexpected(errno_error("create directory", full, errno));
      }
      continue;
    }
    if ((err == ELOOP || err == ENOTDIR) && is_symlink_at(dir, name)) {
      return std::unexpected(planted(full));
    }
    return std::unexpected(errno_error("open directory", full, err));
  }
}

void confine_beneath(const fs::path& root) {
  std::lock_guard lock(g_mutex);
  fs::path normal = root.lexically_normal();
  for (const fs::path& r : g_roots) {
    if (r == normal) return;
  }
  g_roots.push_back(std::move(normal));
}

void share_with_group(std::optional<gid_t> gid) {
  std::lock_guard lock(g_mutex);
  g_group = gid;
}

std::optional<gid_t> shared_group() {
  std::lock_guard lock(g_mutex);
  return g_group;
}

unsigned dir_mode() { return shared_group() ? 02770 : 0755; }

unsigned file_mode(unsigned owner_mode) {
  if (!shared_group()) return owner_mode;
  return (owner_mode & 0700) | ((owner_mode & 0700) >> 3) | (owner_mode & 0007);
}

void apply_file_mode(int fd, unsigned mode) {
  if (!shared_group()) return;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_uid != ::geteuid()) return;  // not ours to change
  if ((st.st_mode & 07777) != file_mode(mode)) ::fchmod(fd, file_mode(mode));
}

bool is_beneath_root(const fs::path& path) { return root_of(path.lexically_normal()).has_value(); }

Result<UniqueFd> open_dir_beneath(const fs::path& dir, MissingDirs missing) {
  fs::path normal = dir.lexically_normal();
  auto root = root_of(normal);
  if (!root) {
    if (missing == MissingDirs::kCreate) {
      if (auto s = make_dirs(normal); !s) return std::unexpected(s.error());
    }
    UniqueFd fd(::open(normal.empty() ? "." : normal.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return std::unexpected(errno_error("open directory", normal, errno));
    return fd;
  }
  auto fd = open_dir_beneath(*root, missing);
  if (!fd) return fd;
  fs::path walked = *root;
  for (const auto& part : normal.lexically_relative(*root)) {
    if (part == "." || part.empty()) continue;
    walked /= part;
    auto next = open_dir_at(fd->get(), part.string(), walked, missing);
    if (!next) return next;
    fd = std::move(next);
  }
  return fd;
}

Result<ParentDir> open_parent(const fs::path& path, MissingDirs missing) {
  fs::path normal = path.lexically_normal();
  std::string leaf = normal.filename().string();
  if (leaf.empty()) return fail(ErrorCode::kInternal, "no file name in " + path.string());
  auto fd = open_dir_beneath(normal.parent_path(), missing);
  if (!fd) return std::unexpected(fd.error());
  return ParentDir{std::move(*fd), std::move(leaf)};
}

Status make_symlink(const fs::path& target, const fs::path& link) {
  auto parent = open_parent(link, MissingDirs::kFail);
  if (!parent) return std::unexpected(parent.error());
  if (::symlinkat(target.c_str(), parent->fd.get(), parent->leaf.c_str()) != 0) {
    return std::unexpected(errno_error("create link", link, errno));
  }
  return {};
}

Status replace_symlink(const fs::path& target, const fs::path& link) {
  fs::path tmp = link;
  tmp += ".tmp." + unique_suffix();
  if (auto s = make_symlink(target, tmp); !s) return s;
  if (auto s = rename_path(tmp, link); !s) {
    (void)remove_file(tmp);
    return s;
  }
  return {};
}

Status remove_at(int dir, const std::string& name, const fs::path& full) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return std::unexpected(errno_error("stat", full, errno));
  }
  if (S_ISDIR(st.st_mode)) {
    auto sub = open_dir_at(dir, name, full, MissingDirs::kFail);
    if (!sub) return std::unexpected(sub.error());
    for (const auto& entry : list_dir_fd(sub->get())) {
      if (auto s = remove_at(sub->get(), entry, full / entry); !s) return s;
    }
  }
  if (::unlinkat(dir, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT) {
    return std::unexpected(errno_error("remove", full, errno));
  }
  return {};
}

Error open_error(std::string_view what, const fs::path& path, int err) {
  if (err == ELOOP) return planted(path);
  return errno_error(what, path, err);
}

Result<UniqueFd> open_beneath(const fs::path& path, int flags, unsigned mode, MissingDirs missing) {
  auto parent = open_parent(path, missing);
  if (!parent) return std::unexpected(parent.error());
  // O_TRUNC only once we know what we opened (below).
  UniqueFd fd(::openat(parent->fd.get(), parent->leaf.c_str(),
                       (flags & ~O_TRUNC) | O_NOFOLLOW | O_CLOEXEC, file_mode(mode)));
  if (!fd) return std::unexpected(open_error("open", path, errno));
  if (flags & (O_WRONLY | O_RDWR)) {
    // A hard link planted under our name (to a file its planter may not write,
    // where fs.protected_hardlinks is off) must not be truncated or written.
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return std::unexpected(errno_error("stat", path, errno));
    if (!S_ISREG(st.st_mode) || st.st_nlink > 1) {
      return fail(ErrorCode::kIo, "refusing to write " + path.string() +
                                      ": not a plain file of the cache (a link or special file was "
                                      "planted there): remove it");
    }
    if ((flags & O_TRUNC) && ::ftruncate(fd.get(), 0) != 0) {
      return std::unexpected(errno_error("truncate", path, errno));
    }
  }
  if (flags & O_CREAT) apply_file_mode(fd.get(), mode);
  return fd;
}

}  // namespace modelcache::util
