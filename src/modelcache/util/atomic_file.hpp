// A file that becomes visible under its final name only on commit(): written to
// a temporary name in the same directory, fsynced, renamed, directory fsynced.
// Destroyed without commit(), it removes the temporary and leaves nothing behind.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "modelcache/error.hpp"
#include "util/fs.hpp"

namespace modelcache::util {

class AtomicFile {
 public:
  static Result<AtomicFile> create(const fs::path& final_path, unsigned mode = 0644);
  AtomicFile(AtomicFile&&) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();

  Status write(std::string_view data);
  Status commit();
  int fd() const { return fd_.get(); }

 private:
  AtomicFile(fs::path final_path, std::string tmp_name, UniqueFd dir, UniqueFd fd);
  fs::path tmp_path() const { return final_path_.parent_path() / tmp_name_; }
  fs::path final_path_;
  std::string tmp_name_;
  UniqueFd dir_;  // the directory both names live in
  UniqueFd fd_;
  bool committed_ = false;
};

// Convenience: the whole content at once.
Status write_file_atomic(const fs::path& path, std::string_view data, unsigned mode = 0644);

}  // namespace modelcache::util
