// Who may plant files in the cache (issue 4 item 5). A cache directory owned by
// another user, or one that others can write to without the sticky bit, lets
// them plant files and links that our writes would then trust: refused unless
// the user allows it or the cache is group-shared with the directory's group.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>

#include "core/config.hpp"
#include "modelcache/error.hpp"

namespace modelcache::store {

enum class ForeignRoot { kRefuse, kAllow };  // kAllow: MODELCACHE_ALLOW_SHARED_ROOT=1

struct RootPolicy {
  ForeignRoot foreign = ForeignRoot::kRefuse;
  std::optional<gid_t> group;  // MODELCACHE_SHARED_GROUP
};

// From MODELCACHE_ALLOW_SHARED_ROOT and MODELCACHE_SHARED_GROUP.
RootPolicy root_policy(const core::Config& config);

struct DirOwner {
  uid_t uid = 0;
  gid_t gid = 0;
  unsigned mode = 0;  // st_mode & 07777
};

// True when `dir_gid` is `uid`'s user private group (same name, no listed members):
// group write there grants nobody else anything. Looked up only for a group-writable directory.
bool is_private_group(gid_t dir_gid, uid_t uid);

// The rule, pure (unit-tested): `me` is the effective uid; `private_group` says
// whether the directory's group is my user private group.
Status check_dir_owner(const std::filesystem::path& dir, const DirOwner& owner, uid_t me,
                       bool private_group, const RootPolicy& policy);

}  // namespace modelcache::store
