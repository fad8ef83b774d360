#include "util/fs.hpp"

#include <algorithm>

#include <dirent.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "util/beneath.hpp"

namespace modelcache::util {

Error errno_error(std::string_view what, const fs::path& path, int err) {
  ErrorCode code = ErrorCode::kIo;
  if (err == ENOSPC || err == EDQUOT) code = ErrorCode::kNoSpace;
  std::string msg = "cannot " + std::string(what) + " " + path.string() + ": " + std::strerror(err);
  if (code == ErrorCode::kNoSpace) msg += " (free space or set MODELCACHE_HOME to a larger disk)";
  return Error{code, msg};
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

Status make_dirs(const fs::path& dir, unsigned mode) {
  if (is_beneath_root(dir)) {
    auto fd = open_dir_beneath(dir, MissingDirs::kCreate);
    if (!fd) return std::unexpected(fd.error());
    return {};
  }
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return {};
  fs::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (partial.empty() || partial == "/") continue;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) {
      return std::unexpected(errno_error("create directory", partial, errno));
    }
  }
  if (!fs::is_directory(dir, ec)) {
    return fail(ErrorCode::kIo, "cannot create directory " + dir.string() + ": not a directory");
  }
  return {};
}

Status fsync_dir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return std::unexpected(errno_error("open directory", dir, errno));
  if (::fsync(fd.get()) != 0) return std::unexpected(errno_error("fsync directory", dir, errno));
  return {};
}

Status fsync_fd(int fd, const fs::path& path_for_errors) {
  if (::fdatasync(fd) != 0) return std::unexpected(errno_error("fsync", path_for_errors, errno));
  return {};
}

Result<std::string> read_file(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::unexpected(errno_error("open", path, errno));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(errno_error("read", path, errno));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Status write_all(int fd, const void* data, std::size_t size, const fs::path& path_for_errors) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(errno_error("write", path_for_errors, errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

Status pwrite_all(int fd, const void* data, std::size_t size, std::uint64_t offset,
                  const fs::path& path_for_errors) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(errno_error("write", path_for_errors, errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

bool exists(const fs::path& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_regular_file(const fs::path& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::uint64_t> file_size(const fs::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::unexpected(errno_error("stat", path, errno));
  return static_cast<std::uint64_t>(st.st_size);
}

Status remove_file(const fs::path& path) {
  if (is_beneath_root(path)) {
    auto parent = open_parent(path, MissingDirs::kFail);
    if (!parent) {
      // A missing directory means a missing file; a planted link is an error.
      if (!util::exists(path.parent_path())) return {};
      return std::unexpected(parent.error());
    }
    if (::unlinkat(parent->fd.get(), parent->leaf.c_str(), 0) != 0 && errno != ENOENT) {
      return std::unexpected(errno_error("remove", path, errno));
    }
    return {};
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return std::unexpected(errno_error("remove", path, errno));
  }
  return {};
}

Status remove_tree(const fs::path& path) {
  if (is_beneath_root(path)) {
    auto parent = open_parent(path, MissingDirs::kFail);
    if (!parent) {
      if (!util::exists(path.parent_path())) return {};
      return std::unexpected(parent.error());
    }
    return remove_at(parent->fd.get(), parent->leaf, path);
  }
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot remove " + path.string() + ": " + ec.message());
  return {};
}

Status rename_path(const fs::path& from, const fs::path& to) {
  if (is_beneath_root(from) || is_beneath_root(to)) {
    auto a = open_parent(from, MissingDirs::kFail);
    if (!a) return std::unexpected(a.error());
    auto b = open_parent(to, MissingDirs::kFail);
    if (!b) return std::unexpected(b.error());
    if (::renameat(a->fd.get(), a->leaf.c_str(), b->fd.get(), b->leaf.c_str()) != 0) {
      return std::unexpected(errno_error("rename " + from.string() + " to", to, errno));
    }
    return {};
  }
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return std::unexpected(errno_error("rename " + from.string() + " to", to, errno));
  }
  return {};
}

std::string unique_suffix() {
  static std::atomic<unsigned> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d.%u.%08llx", static_cast<int>(::getpid()), counter++,
                static_cast<unsigned long long>(rng() & 0xffffffffULL));
  return buf;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> list_dir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return {};
  return list_dir_fd(fd.get());
}

std::vector<std::string> list_dir_fd(int dir_fd) {
  std::vector<std::string> out;
  int fd = ::dup(dir_fd);
  if (fd < 0) return out;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return out;
  }
  ::rewinddir(d);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace modelcache::util
