// Puts the content of one file under another name without duplicating bytes
// where the filesystem allows: a hardlink (same inode), else a reflink (FICLONE:
// shared extents, copy-on-write, own inode and mode), else a copy. The file
// appears under `dest` only complete: made at a temporary name in dest's
// directory, fsynced, renamed (replacing what `dest` named). Used to share
// blobs with a Hugging Face cache folder (cache/hf_export, cache/hf_import).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "modelcache/error.hpp"

namespace modelcache::store {

enum class CloneMethod { kHardlink, kReflink, kCopy };
// kNever when the two names must not share an inode (and so a mode).
enum class HardlinkUse { kFirst, kNever };

struct CloneResult {
  CloneMethod method = CloneMethod::kCopy;
  std::uint64_t bytes_copied = 0;  // bytes duplicated on disk (kCopy only)
};

std::string_view clone_method_name(CloneMethod method);  // "hardlink", "reflink", "copy"

Result<CloneResult> clone_file(const std::filesystem::path& src, const std::filesystem::path& dest,
                               HardlinkUse hardlink);

}  // namespace modelcache::store
