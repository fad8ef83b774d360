#include "store/root_check.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <string>

namespace modelcache::store {

namespace {

std::string user_name(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw && pw->pw_name ? fmt::format("{} ({})", uid, pw->pw_name) : std::to_string(uid);
}

constexpr const char* kWhatToDo =
    "use a MODELCACHE_HOME of your own, or set MODELCACHE_SHARED_GROUP to share it with a group "
    "(MODELCACHE_ALLOW_SHARED_ROOT=1 accepts it as is)";

}  // namespace

RootPolicy root_policy(const core::Config& config) {
  RootPolicy p;
  if (config.allow_shared_root) p.foreign = ForeignRoot::kAllow;
  if (config.shared_group) p.group = static_cast<gid_t>(*config.shared_group);
  return p;
}

bool is_private_group(gid_t dir_gid, uid_t uid) {
  const group* gr = ::getgrgid(dir_gid);
  const passwd* pw = ::getpwuid(uid);
  if (!gr || !pw || !gr->gr_name || !pw->pw_name || pw->pw_gid != dir_gid) return false;
  return std::string(gr->gr_name) == pw->pw_name && (!gr->gr_mem || !gr->gr_mem[0]);
}

Status check_dir_owner(const std::filesystem::path& dir, const DirOwner& o, uid_t me,
                       bool private_group, const RootPolicy& policy) {
  if (policy.foreign == ForeignRoot::kAllow) return {};
  const bool sticky = (o.mode & S_ISVTX) != 0;
  const bool group_shared = policy.group && o.gid == *policy.group;
  if ((o.mode & S_IWOTH) && !sticky) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("cache directory {} is world-writable (mode {:04o}) without the sticky bit, so "
                            "anyone can plant files in it: chmod o-w it, {}",
                            dir.string(), o.mode, kWhatToDo));
  }
  if (o.uid != me && !group_shared) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("cache directory {} is owned by uid {}, not by you (uid {}), mode {:04o}: {}",
                            dir.string(), user_name(o.uid), me, o.mode, kWhatToDo));
  }
  if ((o.mode & S_IWGRP) && !sticky && !group_shared && !private_group) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("cache directory {} is writable by group {} (mode {:04o}), whose members could "
                            "plant files in it: chmod g-w it, or set MODELCACHE_SHARED_GROUP={} to share it",
                            dir.string(), o.gid, o.mode, o.gid));
  }
  return {};
}

}  // namespace modelcache::store
