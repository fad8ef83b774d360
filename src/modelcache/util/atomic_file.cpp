#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace modelcache::util {

Result<AtomicFile> AtomicFile::create(const fs::path& final_path, unsigned mode) {
  fs::path tmp = final_path;
  tmp += ".tmp." + unique_suffix();
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return std::unexpected(errno_error("create", tmp, errno));
  return AtomicFile(final_path, tmp, std::move(fd));
}

AtomicFile::AtomicFile(fs::path final_path, fs::path tmp_path, UniqueFd fd)
    : final_path_(std::move(final_path)), tmp_path_(std::move(tmp_path)), fd_(std::move(fd)) {}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : final_path_(std::move(o.final_path_)),
      tmp_path_(std::move(o.tmp_path_)),
      fd_(std::move(o.fd_)),
      committed_(o.committed_) {
  o.committed_ = true;  // the moved-from object must not unlink our temp file
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    fd_ = UniqueFd();
    ::unlink(tmp_path_.c_str());
  }
}

Status AtomicFile::write(std::string_view data) {
  return write_all(fd_.get(), data.data(), data.size(), tmp_path_);
}

Status AtomicFile::commit() {
  if (auto s = fsync_fd(fd_.get(), tmp_path_); !s) return s;
  fd_ = UniqueFd();
  if (auto s = rename_path(tmp_path_, final_path_); !s) return s;
  committed_ = true;
  return fsync_dir(final_path_.parent_path());
}

Status write_file_atomic(const fs::path& path, std::string_view data, unsigned mode) {
  auto file = AtomicFile::create(path, mode);
  if (!file) return std::unexpected(file.error());
  if (auto s = file->write(data); !s) return s;
  return file->commit();
}

}  // namespace modelcache::util
