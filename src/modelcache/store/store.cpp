#include "store/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "store/file_hash.hpp"
#include "util/atomic_file.hpp"
#include "util/hasher.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::store {

namespace {

// Replaces (or creates) `link` as a symlink to `target`, atomically.
Status link_atomically(const fs::path& target, const fs::path& link) {
  fs::path tmp = link;
  tmp += ".tmp." + util::unique_suffix();
  if (::symlink(target.c_str(), tmp.c_str()) != 0) {
    return std::unexpected(util::errno_error("create link", tmp, errno));
  }
  if (auto s = util::rename_path(tmp, link); !s) {
    ::unlink(tmp.c_str());
    return s;
  }
  return {};
}

}  // namespace

Result<Store> Store::open(const fs::path& root) {
  Store store(root);
  const Layout& l = store.layout_;
  if (auto s = util::make_dirs(root); !s) return std::unexpected(s.error());
  if (util::exists(l.version_file())) {
    auto text = util::read_file(l.version_file());
    if (!text) return std::unexpected(text.error());
    auto v = util::parse_int(*text);
    if (!v || *v != kFormatVersion) {
      return fail(ErrorCode::kIo, "cache at " + root.string() + " has on-disk format '" +
                                      std::string(util::trim(*text)) + "', this build reads format " +
                                      std::to_string(kFormatVersion) + "; use another MODELCACHE_HOME");
    }
  }
  for (const fs::path& dir : {l.blobs_dir(), l.models_dir(), l.tmp_dir(), root / "locks" / "blobs",
                              root / "locks" / "models"}) {
    if (auto s = util::make_dirs(dir); !s) return std::unexpected(s.error());
  }
  if (!util::exists(l.version_file())) {
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
  if (::chmod(part_file.c_str(), 0444) != 0) {
    return std::unexpected(util::errno_error("chmod", part_file, errno));
  }
  if (auto s = util::rename_path(part_file, dest); !s) return s;
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
      if (auto s = link_atomically(target, link); !s) return std::unexpected(s.error());
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
