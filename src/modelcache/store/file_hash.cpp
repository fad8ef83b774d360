#include "store/file_hash.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "util/fs.hpp"
#include "util/hasher.hpp"

namespace modelcache::store {

Result<FileDigests> hash_file(const std::filesystem::path& path, GitSha1 git) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::unexpected(util::errno_error("open", path, errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(util::errno_error("stat", path, errno));
  if (!S_ISREG(st.st_mode)) return fail(ErrorCode::kIo, path.string() + " is not a regular file");
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  util::Hasher sha256(util::HashAlgo::kSha256);
  std::optional<util::Hasher> sha1;
  if (git == GitSha1::kCompute) {
    // The git header needs the size first; a file that changes while we read
    // it is caught because its bytes no longer hash to the expected name.
    sha1.emplace(util::git_blob_hasher(static_cast<std::uint64_t>(st.st_size)));
  }
  FileDigests out;
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(util::errno_error("read", path, errno));
    }
    if (n == 0) break;
    sha256.update(buf.data(), static_cast<std::size_t>(n));
    if (sha1) sha1->update(buf.data(), static_cast<std::size_t>(n));
    out.size += static_cast<std::uint64_t>(n);
  }
  out.sha256 = sha256.finish_hex();
  if (sha1) out.git_sha1 = sha1->finish_hex();
  if (sha1 && out.size != static_cast<std::uint64_t>(st.st_size)) {
    return fail(ErrorCode::kIo, path.string() + " changed size while it was read; try again");
  }
  return out;
}

}  // namespace modelcache::store
