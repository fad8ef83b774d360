// Writes inside the cache never follow a symlink planted below its root, and
// group-shared caches get group permissions (issue 4 item 5).
//
// Store::open registers its root with confine_beneath(). Every write helper in
// util (make_dirs, open_beneath, rename_path, remove_file, remove_tree,
// symlink_at, AtomicFile, LockFile) resolves a path under a registered root by
// opening the root once (following links: the user chose that path) and then
// each component below it with openat(O_DIRECTORY|O_NOFOLLOW); the write itself
// is an *at() call on the last directory's descriptor with O_NOFOLLOW where it
// opens. A symlink anywhere below the root (`models/x/snapshots` -> /etc, or
// `locks/blobs/<key>.lock` -> ~/.bashrc) is an error naming it, never followed,
// and nothing is resolved twice by path, so swapping a component between a check
// and the write cannot redirect it. Paths outside every registered root (a
// deploy mount, a test's temp dir) are used as given.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include "modelcache/error.hpp"
#include "util/fs.hpp"

namespace modelcache::util {

void confine_beneath(const fs::path& root);

// Group-shared mode (MODELCACHE_SHARED_GROUP): directories are created 02770
// and group-owned through setgid; a file's group gets its owner's bits (0644 ->
// 0664, 0444 stays 0444), so every member can open another's locks and parts.
void share_with_group(std::optional<gid_t> gid);  // nullopt: private again
std::optional<gid_t> shared_group();
unsigned dir_mode();
unsigned file_mode(unsigned owner_mode);
// Gives a file we created the mode file_mode(mode) despite the umask; shared mode only.
void apply_file_mode(int fd, unsigned mode);

enum class MissingDirs { kFail, kCreate };

// The directory that holds `path`, opened without following a symlink below a
// registered root, and the last component's name.
struct ParentDir {
  UniqueFd fd;
  std::string leaf;
};
Result<ParentDir> open_parent(const fs::path& path, MissingDirs missing);
// The directory `dir` itself, opened the same way.
Result<UniqueFd> open_dir_beneath(const fs::path& dir, MissingDirs missing);
// One step of that walk: directory `name` in the open directory `dir`, never
// through a symlink; created (with dir_mode()) when missing and asked to.
// `full` names it in errors.
Result<UniqueFd> open_dir_at(int dir, const std::string& name, const fs::path& full,
                             MissingDirs missing);
bool is_beneath_root(const fs::path& path);

// symlinkat(target, parent of link, name): never through a planted link.
Status make_symlink(const fs::path& target, const fs::path& link);
// Replaces (or creates) `link` as a symlink to `target`, atomically: a temporary
// link beside it, renamed over it; neither name reached through a planted link.
Status replace_symlink(const fs::path& target, const fs::path& link);
// Removes `name` in `dir` (a whole tree when it is a directory), never following
// a symlink: a link is removed, not what it points at.
Status remove_at(int dir, const std::string& name, const fs::path& full);

// open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode) through open_parent; a
// created file gets file_mode(mode).
Result<UniqueFd> open_beneath(const fs::path& path, int flags, unsigned mode = 0644,
                              MissingDirs missing = MissingDirs::kFail);

// The one-line error for a planted symlink, or errno_error otherwise.
Error open_error(std::string_view what, const fs::path& path, int err);

}  // namespace modelcache::util
