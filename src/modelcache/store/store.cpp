#include "store/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>

#include "store/file_hash.hpp"
#include "util/atomic_file.hpp"
#include "util/beneath.hpp"
#include "util/hasher.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::store {

namespace {

// is_private_group() reads the user and group databases: looked up once per
// Store::open for the group the checked directories share (usually all of them).
class PrivateGroupMemo {
 public:
  bool operator()(gid_t gid, uid_t me) {
    if (!gid_ || *gid_ != gid) {
      gid_ = gid;
      private_ = is_private_group(gid, me);
    }
    return private_;
  }

 private:
  std::optional<gid_t> gid_;
  bool private_ = false;
};

// Opens (creating when missing) one directory of the cache and applies the
// ownership rule to it: one fstat. `name` empty: the root itself, which may be
// reached through links the user chose; below it nothing is followed.
Result<util::UniqueFd> open_checked(int parent, const fs::path& dir, const std::string& name,
                                    const RootPolicy& policy, PrivateGroupMemo& private_group_of) {
  const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (name.empty() ? 0 : O_NOFOLLOW);
  const char* at = name.empty() ? dir.c_str() : name.c_str();
  util::UniqueFd fd(::openat(parent, at, flags));
  if (!fd && errno == ENOENT) {
    bool created = false;
    if (name.empty()) {
      if (auto s = util::make_dirs(dir); !s) return std::unexpected(s.error());
      created = true;
    } else if (::mkdirat(parent, at, util::dir_mode()) == 0) {
      created = true;
    } else if (errno != EEXIST) {
      return std::unexpected(util::errno_error("create directory", dir, errno));
    }
    fd = util::UniqueFd(::openat(parent, at, flags));
    // A directory we just made: give it the shared group and mode despite the umask.
    if (fd && created && policy.group) {
      if (::fchown(fd.get(), static_cast<uid_t>(-1), *policy.group) != 0 ||
          ::fchmod(fd.get(), util::dir_mode()) != 0) {
        return std::unexpected(util::errno_error("give the shared group to", dir, errno));
      }
    }
  }
  if (!fd) return std::unexpected(util::open_error("open directory", dir, errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(util::errno_error("stat", dir, errno));
  DirOwner owner{st.st_uid, st.st_gid, static_cast<unsigned>(st.st_mode & 07777)};
  const uid_t me = ::geteuid();
  bool private_group = (owner.mode & S_IWGRP) && private_group_of(owner.gid, me);
  if (auto s = check_dir_owner(dir, owner, me, private_group, policy); !s) return std::unexpected(s.error());
  return fd;
}

// VERSION's text, or nullopt when there is none. Read without following a link
// or blocking on a FIFO, and only from a file we (or, shared, the group) wrote:
// in a sticky world-writable root another user could create the name first.
Result<std::optional<std::string>> read_version(int root, const fs::path& path,
                                                const RootPolicy& policy) {
  util::UniqueFd fd(::openat(root, "VERSION", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::optional<std::string>();
    return std::unexpected(util::open_error("open", path, errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(util::errno_error("stat", path, errno));
  const bool trusted = st.st_uid == ::geteuid() || (policy.group && st.st_gid == *policy.group) ||
                       policy.foreign == ForeignRoot::kAllow;
  if (!S_ISREG(st.st_mode) || st.st_size > 64 || !trusted) {
    return fail(ErrorCode::kInvalidArgument,
                path.string() + " is not a small file of yours (planted?): remove it or use another MODELCACHE_HOME");
  }
  char buf[65] = {};
  ssize_t n = ::read(fd.get(), buf, 64);
  if (n < 0) return std::unexpected(util::errno_error("read", path, errno));
  return std::optional<std::string>(std::string(buf, static_cast<std::size_t>(n)));
}

// A read-only copy of `fd`'s content that we own, next to `part_file`.
Result<fs::path> copy_to_own_file(int fd, const fs::path& part_file) {
  fs::path copy = part_file;
  copy += ".own." + util::unique_suffix();
  auto out = util::open_beneath(copy, O_WRONLY | O_CREAT | O_EXCL, 0444);
  if (!out) return std::unexpected(out.error());
  loff_t in_off = 0;
  for (;;) {
    ssize_t n = ::copy_file_range(fd, &in_off, out->get(), nullptr, 1 << 30, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = util::errno_error("copy", part_file, errno);
      (void)util::remove_file(copy);
      return std::unexpected(std::move(e));
    }
    if (n == 0) break;
  }
  if (auto s = util::fsync_fd(out->get(), copy); !s) {
    (void)util::remove_file(copy);
    return std::unexpected(s.error());
  }
  return copy;
}

}  // namespace

Result<Store> Store::open(const fs::path& root, const RootPolicy& policy) {
  Store store(root);
  const Layout& l = store.layout_;
  if (policy.group) util::share_with_group(*policy.group);
  // The root and its four top directories are checked before anything is written
  // into them: a refused cache is left exactly as it was.
  PrivateGroupMemo private_group_of;
  auto root_fd = open_checked(AT_FDCWD, root, "", policy, private_group_of);
  if (!root_fd) return std::unexpected(root_fd.error());
  auto blobs_fd = open_checked(root_fd->get(), root / "blobs", "blobs", policy, private_group_of);
  if (!blobs_fd) return std::unexpected(blobs_fd.error());
  for (const char* name : {"models", "tmp"}) {
    auto fd = open_checked(root_fd->get(), root / name, name, policy, private_group_of);
    if (!fd) return std::unexpected(fd.error());
  }
  auto locks_fd = open_checked(root_fd->get(), root / "locks", "locks", policy, private_group_of);
  if (!locks_fd) return std::unexpected(locks_fd.error());
  util::confine_beneath(root);
  auto text = read_version(root_fd->get(), l.version_file(), policy);
  if (!text) return std::unexpected(text.error());
  if (*text) {
    auto v = util::parse_int(**text);
    if (!v || *v != kFormatVersion) {
      return fail(ErrorCode::kIo, "cache at " + root.string() + " has on-disk format '" +
                                      std::string(util::trim(**text)) + "', this build reads format " +
                                      std::to_string(kFormatVersion) + "; use another MODELCACHE_HOME");
    }
  }
  // The second level, from the descriptors just checked: what make_dirs does
  // (no link followed, created when missing) without walking from the root again.
  const std::pair<int, fs::path> second_level[] = {{blobs_fd->get(), l.blobs_dir()},
                                                     {locks_fd->get(), root / "locks" / "blobs"},
                                                     {locks_fd->get(), root / "locks" / "models"}};
  for (const auto& [parent, dir] : second_level) {
    if (auto fd = util::open_dir_at(parent, dir.filename().string(), dir, util::MissingDirs::kCreate); !fd) {
      return std::unexpected(fd.error());
    }
  }
  if (!*text) {
    if (auto s = util::write_file_atomic(l.version_file(), std::to_string(kFormatVersion) + "\n"); !s) {
      return std::unexpected(s.error());
    }
  }
  return store;
}

bool Store::has_blob(std::string_view sha256) const {
  return util::is_regular_file(layout_.blob(sha256));
}

Status Store::commit_blob(const fs::path& part_file, std::string_view sha256) {
  if (!util::is_hex(sha256, 64)) return fail(ErrorCode::kInternal, "bad blob name");
  fs::path dest = layout_.blob(sha256);
  if (has_blob(sha256)) return util::remove_file(part_file);
  if (auto s = util::make_dirs(dest.parent_path()); !s) return s;
  // fchmod on a descriptor opened with O_NOFOLLOW: chmod(path) would follow a
  // symlink planted in tmp/ and change a file outside the cache.
  auto fd = util::open_beneath(part_file, O_RDONLY);
  if (!fd) return std::unexpected(fd.error());
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return std::unexpected(util::errno_error("stat", part_file, errno));
  fs::path from = part_file;
  if (st.st_uid != ::geteuid()) {
    // Group-shared mode: another member started this download and we resumed
    // it. Only its owner may make it read-only, so the blob is our own copy.
    auto copy = copy_to_own_file(fd->get(), part_file);
    if (!copy) return std::unexpected(copy.error());
    (void)util::remove_file(part_file);
    from = *copy;
  } else if (::fchmod(fd->get(), 0444) != 0) {
    return std::unexpected(util::errno_error("chmod", part_file, errno));
  }
  if (auto s = util::rename_path(from, dest); !s) return s;
  return util::fsync_dir(dest.parent_path());
}

Result<util::LockFile> Store::lock_blob(std::string_view key) const {
  return util::LockFile::acquire(layout_.blob_lock(key), util::LockKind::kExclusive);
}

Result<std::optional<util::LockFile>> Store::try_lock_blob(std::string_view key) const {
  return util::LockFile::try_acquire(layout_.blob_lock(key), util::LockKind::kExclusive);
}

Result<util::LockFile> Store::lock_model(std::string_view folder) const {
  return util::LockFile::acquire(layout_.model_lock(folder), util::LockKind::kExclusive);
}

Result<std::optional<RefRecord>> Store::read_ref(std::string_view folder,
                                                 std::string_view revision) const {
  fs::path path = layout_.ref_file(folder, revision);
  if (!util::exists(path)) return std::optional<RefRecord>();
  auto text = util::read_file(path);
  if (!text) return std::unexpected(text.error());
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("snapshot") || !j["snapshot"].is_string()) {
    util::log(util::LogLevel::kWarn, "ignoring malformed ref {}", path.string());
    return std::optional<RefRecord>();
  }
  return std::optional<RefRecord>(
      RefRecord{j["snapshot"].get<std::string>(), j.value("resolved_at", std::int64_t{0})});
}

Status Store::write_ref(std::string_view folder, std::string_view revision,
                        const RefRecord& record) const {
  if (auto s = util::make_dirs(layout_.refs_dir(folder)); !s) return s;
  nlohmann::json j{{"snapshot", record.snapshot_id},
                   {"revision", std::string(revision)},
                   {"resolved_at", record.resolved_at}};
  return util::write_file_atomic(layout_.ref_file(folder, revision), j.dump() + "\n");
}

Result<std::optional<Manifest>> Store::read_manifest(std::string_view folder,
                                                     std::string_view id) const {
  fs::path path = layout_.manifest(folder, id);
  if (!util::exists(path)) return std::optional<Manifest>();
  auto text = util::read_file(path);
  if (!text) return std::unexpected(text.error());
  auto m = Manifest::from_json(*text);
  if (!m) return fail(ErrorCode::kIo, path.string() + ": " + m.error().message);
  return std::optional<Manifest>(std::move(*m));
}

Result<Manifest> Store::add_to_snapshot(const SnapshotKey& key,
                                        const std::vector<ManifestEntry>& listing,
                                        const std::vector<ManifestEntry>& present) const {
  auto existing = read_manifest(key.folder, key.snapshot_id);
  if (!existing) return std::unexpected(existing.error());
  std::map<std::string, ManifestEntry> merged;
  if (*existing) {
    for (auto& f : (*existing)->files) merged[f.path] = f;
  }
  for (const auto& e : listing) {
    auto& slot = merged[e.path];
    std::string kept = slot.sha256;
    slot = e;
    slot.sha256 = kept;
  }
  fs::path snap_dir = layout_.snapshot_dir(key.folder, key.snapshot_id);
  if (auto s = util::make_dirs(snap_dir); !s) return std::unexpected(s.error());
  for (const auto& e : present) {
    if (!has_blob(e.sha256)) {
      return fail(ErrorCode::kInternal, "blob for " + e.path + " is not committed");
    }
    fs::path link = snap_dir / e.path;
    if (auto s = util::make_dirs(link.parent_path()); !s) return std::unexpected(s.error());
    fs::path target = layout_.blob(e.sha256).lexically_relative(link.parent_path());
    std::error_code ec;
    if (fs::read_symlink(link, ec) != target || ec) {
      if (auto s = util::replace_symlink(target, link); !s) return std::unexpected(s.error());
    }
    merged[e.path] = e;
  }
  Manifest m;
  m.model = key.model;
  m.snapshot_id = key.snapshot_id;
  m.origin = key.origin;
  m.updated_at = util::unix_now();
  for (auto& [path, entry] : merged) m.files.push_back(std::move(entry));
  if (auto s = util::fsync_dir(snap_dir); !s) return std::unexpected(s.error());
  if (auto s = util::write_file_atomic(layout_.manifest(key.folder, key.snapshot_id), m.to_json()); !s) {
    return std::unexpected(s.error());
  }
  return m;
}

Result<std::vector<SnapshotInfo>> Store::list() const {
  std::vector<SnapshotInfo> out;
  for (const auto& folder : util::list_dir(layout_.models_dir())) {
    std::map<std::string, std::vector<std::string>> revisions_by_snapshot;
    for (const auto& ref_name : util::list_dir(layout_.refs_dir(folder))) {
      if (ref_name.find(".tmp.") != std::string::npos) continue;
      std::string decoded = util::url_decode(ref_name);
      auto ref = read_ref(folder, decoded);
      if (ref && *ref) revisions_by_snapshot[(*ref)->snapshot_id].push_back(decoded);
    }
    for (const auto& name : util::list_dir(layout_.snapshots_dir(folder))) {
      if (!name.ends_with(".json") || name.find(".tmp.") != std::string::npos) continue;
      std::string id = name.substr(0, name.size() - 5);
      auto m = read_manifest(folder, id);
      if (!m || !*m) continue;
      SnapshotInfo info;
      info.model = (*m)->model;
      info.folder = folder;
      info.snapshot_id = id;
      info.revisions = revisions_by_snapshot[id];
      info.path = layout_.snapshot_dir(folder, id);
      info.bytes = (*m)->total_bytes();
      info.files = (*m)->present_count();
      out.push_back(std::move(info));
    }
  }
  return out;
}

Result<std::vector<VerifyIssue>> Store::verify(std::optional<std::string> folder,
                                               VerifyMode mode) const {
  // The blobs to check: every blob, or those named by one model's manifests.
  std::map<std::string, std::optional<std::uint64_t>> blobs;  // sha256 -> expected size
  if (folder) {
    for (const auto& name : util::list_dir(layout_.snapshots_dir(*folder))) {
      if (!name.ends_with(".json") || name.find(".tmp.") != std::string::npos) continue;
      auto m = read_manifest(*folder, name.substr(0, name.size() - 5));
      if (!m) return std::unexpected(m.error());
      if (*m) {
        for (const auto& f : (*m)->files) {
          if (!f.sha256.empty()) blobs[f.sha256] = f.size;
        }
      }
    }
  } else {
    for (const auto& prefix : util::list_dir(layout_.blobs_dir())) {
      for (const auto& name : util::list_dir(layout_.blobs_dir() / prefix)) {
        blobs[name] = std::nullopt;
      }
    }
  }
  std::vector<VerifyIssue> issues;
  for (const auto& [sha, size] : blobs) {
    fs::path path = layout_.blob(sha);
    std::string reason;
    if (!util::is_hex(sha, 64)) {
      reason = "not a blob name";
      path = layout_.blobs_dir() / sha.substr(0, 2) / sha;
    } else if (!util::exists(path)) {
      reason = "missing";
    } else {
      auto actual_size = util::file_size(path);
      auto actual = hash_file(path);
      if (!actual) {
        reason = actual.error().message;
      } else if (actual->sha256 != sha) {
        reason = "content hashes to " + actual->sha256;
      } else if (size && actual_size && *actual_size != *size) {
        reason = "size " + std::to_string(*actual_size) + ", manifest says " + std::to_string(*size);
      }
    }
    if (reason.empty()) continue;
    issues.push_back(VerifyIssue{sha, reason});
    if (mode == VerifyMode::kRepair && reason != "missing") {
      if (auto s = util::remove_file(path); !s) return std::unexpected(s.error());
    }
  }
  return issues;
}

}  // namespace modelcache::store
