#include "store/file_clone.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "util/beneath.hpp"
#include "util/fs.hpp"

namespace modelcache::store {

namespace fs = std::filesystem;

namespace {

// Copies src into dst: copy_file_range (in-kernel), read/write where the kernel
// refuses it (EXDEV between filesystems on some kernels, EINVAL/ENOSYS elsewhere).
Result<std::uint64_t> copy_bytes(int src, int dst, const fs::path& src_path, const fs::path& dst_path) {
  std::uint64_t total = 0;
  bool plain = false;
  std::vector<char> buf;
  for (;;) {
    ssize_t n = 0;
    if (!plain) {
      n = ::copy_file_range(src, nullptr, dst, nullptr, 1 << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) &&
          total == 0) {
        plain = true;
        buf.resize(1 << 20);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return std::unexpected(util::errno_error("copy into", dst_path, errno));
    } else {
      n = ::read(src, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return std::unexpected(util::errno_error("read", src_path, errno));
      if (n > 0) {
        if (auto s = util::write_all(dst, buf.data(), static_cast<std::size_t>(n), dst_path); !s) {
          return std::unexpected(s.error());
        }
      }
    }
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
  }
  return total;
}

// Reflink, else copy, into the new file `tmp`.
Result<CloneResult> clone_or_copy(const fs::path& src, const fs::path& tmp) {
  util::UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return std::unexpected(util::errno_error("open", src, errno));
  // Below the cache root, never through a planted symlink (util/beneath.hpp).
  auto out = util::open_beneath(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (!out) return std::unexpected(out.error());
  CloneResult result;
  if (::ioctl(out->get(), FICLONE, in.get()) == 0) {
    result.method = CloneMethod::kReflink;
  } else {
    auto copied = copy_bytes(in.get(), out->get(), src, tmp);
    if (!copied) return std::unexpected(copied.error());
    result.method = CloneMethod::kCopy;
    result.bytes_copied = *copied;
  }
  if (auto s = util::fsync_fd(out->get(), tmp); !s) return std::unexpected(s.error());
  return result;
}

}  // namespace

std::string_view clone_method_name(CloneMethod method) {
  switch (method) {
    case CloneMethod::kHardlink: return "hardlink";
    case CloneMethod::kReflink: return "reflink";
    case CloneMethod::kCopy: return "copy";
  }
  return "copy";
}

Result<CloneResult> clone_file(const fs::path& src, const fs::path& dest, HardlinkUse hardlink) {
  fs::path tmp = dest;
  tmp += ".tmp." + util::unique_suffix();
  Result<CloneResult> made = CloneResult{CloneMethod::kHardlink, 0};
  // linkat without AT_SYMLINK_FOLLOW links `src` itself, never what a symlink
  // names; the new name is made in its directory opened without following links.
  auto linked = [&] {
    auto parent = util::open_parent(tmp, util::MissingDirs::kFail);
    return parent && ::linkat(AT_FDCWD, src.c_str(), parent->fd.get(), parent->leaf.c_str(), 0) == 0;
  };
  if (hardlink == HardlinkUse::kNever || !linked()) {
    made = clone_or_copy(src, tmp);
  }
  if (!made) {
    (void)util::remove_file(tmp);
    return made;
  }
  if (auto s = util::rename_path(tmp, dest); !s) {
    (void)util::remove_file(tmp);
    return std::unexpected(s.error());
  }
  if (auto s = util::fsync_dir(dest.parent_path()); !s) return std::unexpected(s.error());
  return made;
}

}  // namespace modelcache::store
