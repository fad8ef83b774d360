// Filesystem helpers that never throw: every failure is an Error whose message
// names the path and the errno text. ENOSPC/EDQUOT map to ErrorCode::kNoSpace.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>
#include <string_view>

#include "modelcache/error.hpp"

namespace modelcache::util {

namespace fs = std::filesystem;

// Error from errno for an operation on a path: "cannot <what> <path>: <strerror>".
Error errno_error(std::string_view what, const fs::path& path, int err);

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() { int f = fd_; fd_ = -1; return f; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Below a cache root, make_dirs, remove_file, remove_tree and rename_path walk
// with directory descriptors and never follow a symlink (util/beneath.hpp).
Status make_dirs(const fs::path& dir, unsigned mode = 0755);
Status fsync_dir(const fs::path& dir);
Status fsync_fd(int fd, const fs::path& path_for_errors);
Result<std::string> read_file(const fs::path& path);
Status write_all(int fd, const void* data, std::size_t size, const fs::path& path_for_errors);
Status pwrite_all(int fd, const void* data, std::size_t size, std::uint64_t offset,
                  const fs::path& path_for_errors);
bool exists(const fs::path& path);           // lstat succeeds
bool is_regular_file(const fs::path& path);  // follows symlinks
Result<std::uint64_t> file_size(const fs::path& path);
Status remove_file(const fs::path& path);    // missing is not an error
Status remove_tree(const fs::path& path);    // missing is not an error
Status rename_path(const fs::path& from, const fs::path& to);
// Names in a directory, sorted, without "." and ".."; empty when it cannot be read.
std::vector<std::string> list_dir(const fs::path& dir);
std::vector<std::string> list_dir_fd(int dir_fd);  // same, of an open directory
// A random suffix for temporary names: pid + counter + random bits.
std::string unique_suffix();
// Seconds since the epoch (wall clock), for records written to disk.
std::int64_t unix_now();

}  // namespace modelcache::util
