#include "source/file_source.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "source/snapshot_id.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

namespace fs = std::filesystem;

struct LocalFile {
  std::string path;  // relative, '/'-separated
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  fs::path absolute;
};

std::string file_url(const fs::path& absolute) {
  return "file://" + util::url_encode(absolute.string(), "/");
}

// stat() follows symlinks: a link to a file lists the file it points at.
Result<struct stat> stat_path(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return std::unexpected(util::errno_error("stat", path, errno));
  return st;
}

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

Result<std::vector<LocalFile>> walk(const fs::path& root) {
  std::vector<LocalFile> files;
  std::error_code ec;
  // Default options: symlinked directories are listed but not entered.
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) return std::unexpected(util::errno_error("list", root, ec.value()));
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return std::unexpected(util::errno_error("list", root, ec.value()));
    const fs::path& path = it->path();
    auto link_status = it->symlink_status(ec);
    if (ec) return std::unexpected(util::errno_error("stat", path, ec.value()));
    if (fs::is_directory(link_status)) continue;
    auto st = stat_path(path);
    if (!st) {
      // A dangling symlink names nothing to copy; anything else is a real failure.
      if (fs::is_symlink(link_status)) {
        util::log(util::LogLevel::kWarn, "skipping dangling symlink {}", path.string());
        continue;
      }
      return std::unexpected(st.error());
    }
    if (!S_ISREG(st->st_mode)) continue;  // linked directories, fifos, sockets, devices
    files.push_back({path.lexically_relative(root).generic_string(),
                     static_cast<std::uint64_t>(st->st_size), mtime_ns(*st), path});
  }
  if (ec) return std::unexpected(util::errno_error("list", root, ec.value()));
  return files;
}

}  // namespace

Result<Listing> FileSource::list(const core::ModelRef& ref, const ListOptions& /*options*/) {
  fs::path root(ref.repo);
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return fail(ErrorCode::kNotFound, fmt::format("no such file or directory: {}", ref.repo));
    }
    return std::unexpected(util::errno_error("stat", root, err));
  }
  std::vector<LocalFile> files;
  if (S_ISREG(st.st_mode)) {
    files.push_back(
        {root.filename().string(), static_cast<std::uint64_t>(st.st_size), mtime_ns(st), root});
  } else if (S_ISDIR(st.st_mode)) {
    auto walked = walk(root);
    if (!walked) return std::unexpected(walked.error());
    files = std::move(*walked);
  } else {
    return fail(ErrorCode::kInvalidRef,
                fmt::format("{} is neither a regular file nor a directory", ref.repo));
  }
  std::sort(files.begin(), files.end(),
            [](const LocalFile& a, const LocalFile& b) { return a.path < b.path; });
  Listing listing;
  std::string material;
  for (const auto& f : files) {
    material += fmt::format("{}{}{}{}{}\n", f.path, '\0', f.size, '\0', f.mtime_ns);
    RemoteFile remote;
    remote.path = f.path;
    remote.size = f.size;
    remote.url = file_url(f.absolute);
    listing.files.push_back(std::move(remote));
  }
  listing.snapshot_id = derived_snapshot_id(material);
  return listing;
}

}  // namespace modelcache::source
