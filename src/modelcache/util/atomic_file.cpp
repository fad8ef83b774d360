#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "util/beneath.hpp"

namespace modelcache::util {

// The directory is opened once (never through a planted symlink below a cache
// root) and the temp file is created, renamed and removed relative to it.
Result<AtomicFile> AtomicFile::create(const fs::path& final_path, unsigned mode) {
  auto parent = open_parent(final_path, MissingDirs::kFail);
  if (!parent) return std::unexpected(parent.error());
  std::string tmp = parent->leaf + ".tmp." + unique_suffix();
  UniqueFd fd(::openat(parent->fd.get(), tmp.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file_mode(mode)));
  if (!fd) return std::unexpected(errno_error("create", final_path.parent_path() / tmp, errno));
  apply_file_mode(fd.get(), mode);
  return AtomicFile(final_path, std::move(tmp), std::move(parent->fd), std::move(fd));
}

AtomicFile::AtomicFile(fs::path final_path, std::string tmp_name, UniqueFd dir, UniqueFd fd)
    : final_path_(std::move(final_path)),
      tmp_name_(std::move(tmp_name)),
      dir_(std::move(dir)),
      fd_(std::move(fd)) {}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : final_path_(std::move(o.final_path_)),
      tmp_name_(std::move(o.tmp_name_)),
      dir_(std::move(o.dir_)),
      fd_(std::move(o.fd_)),
      committed_(o.committed_) {
  o.committed_ = true;  // the moved-from object must not unlink our temp file
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    fd_ = UniqueFd();
    ::unlinkat(dir_.get(), tmp_name_.c_str(), 0);
  }
}

Status AtomicFile::write(std::string_view data) {
  return write_all(fd_.get(), data.data(), data.size(), tmp_path());
}

Status AtomicFile::commit() {
  if (auto s = fsync_fd(fd_.get(), tmp_path()); !s) return s;
  fd_ = UniqueFd();
  if (::renameat(dir_.get(), tmp_name_.c_str(), dir_.get(), final_path_.filename().c_str()) != 0) {
    return std::unexpected(errno_error("rename " + tmp_path().string() + " to", final_path_, errno));
  }
  committed_ = true;
  if (::fsync(dir_.get()) != 0) {
    return std::unexpected(errno_error("fsync directory", final_path_.parent_path(), errno));
  }
  return {};
}

Status write_file_atomic(const fs::path& path, std::string_view data, unsigned mode) {
  auto file = AtomicFile::create(path, mode);
  if (!file) return std::unexpected(file.error());
  if (auto s = file->write(data); !s) return s;
  return file->commit();
}

}  // namespace modelcache::util
