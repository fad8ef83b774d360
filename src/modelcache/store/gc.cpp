#include "store/gc.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include "core/config.hpp"
#include "store/lease.hpp"
#include "store/usage.hpp"
#include "util/hasher.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::store {

namespace {

fs::path gc_lock_path(const Layout& layout) { return layout.gc_lock(); }

std::string display(const std::string& model, const std::string& id) { return model + "@" + id; }

// Removes the model folder's directories when nothing is left in them; rmdir
// refuses a non-empty directory, so a concurrent writer's files are never lost.
void remove_if_empty(const Layout& l, const std::string& folder, ManageReport& report) {
  ::rmdir(l.snapshots_dir(folder).c_str());
  ::rmdir(l.refs_dir(folder).c_str());
  if (::rmdir(l.model_dir(folder).c_str()) == 0) ++report.dirs_removed;
  ::rmdir(l.lease_dir(folder).c_str());
}

// Removes one snapshot: its refs, manifest, links and lease file. Caller holds the
// exclusive gc lock. Returns false when it is leased (named in report.skipped).
Result<bool> remove_snapshot(const Store& store, const std::string& model,
                             const std::string& folder, const std::string& id,
                             ManageReport& report) {
  const Layout& l = store.layout();
  auto model_lock = store.lock_model(folder);
  if (!model_lock) return std::unexpected(model_lock.error());
  auto lease = Lease::try_exclusive(l, folder, id);
  if (!lease) return std::unexpected(lease.error());
  if (!*lease) {
    report.skipped.push_back(display(model, id));
    return false;
  }
  // Refs first, then the manifest, then the links: a crash in between leaves an
  // unreferenced snapshot or a link dir without manifest, which prune removes.
  for (const auto& name : util::list_dir(l.refs_dir(folder))) {
    if (name.find(".tmp.") != std::string::npos) continue;
    auto ref = store.read_ref(folder, util::url_decode(name));
    if (ref && *ref && (*ref)->snapshot_id == id) {
      if (auto s = util::remove_file(l.refs_dir(folder) / name); !s)
        return std::unexpected(s.error());
    }
  }
  if (auto s = util::remove_file(l.manifest(folder, id)); !s) return std::unexpected(s.error());
  if (auto s = util::remove_tree(l.snapshot_dir(folder, id)); !s) return std::unexpected(s.error());
  (*lease)->remove_file();
  report.removed.push_back(display(model, id));
  remove_if_empty(l, folder, report);
  return true;
}

// Deletes the blobs on disk that `counts` says no snapshot links. Caller holds
// the exclusive gc lock, so no pull is between finding a blob and linking it.
Status delete_unlinked_blobs(const Store& store, const Usage& usage,
                             const std::map<std::string, int>& counts, ManageReport& report) {
  for (const auto& [sha, size] : usage.blob_bytes) {
    auto it = counts.find(sha);
    if (it != counts.end() && it->second > 0) continue;
    if (auto s = util::remove_file(store.layout().blob(sha)); !s) return s;
    ++report.blobs_removed;
    report.bytes_freed += size;
  }
  return {};
}

std::uint64_t linked_bytes(const Usage& usage, const std::map<std::string, int>& counts) {
  std::uint64_t total = 0;
  for (const auto& [sha, n] : counts) {
    auto it = usage.blob_bytes.find(sha);
    if (n > 0 && it != usage.blob_bytes.end()) total += it->second;
  }
  return total;
}

std::int64_t mtime_of(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_mtime) : 0;
}

Result<ManageReport> prune_locked(const Store& store, std::chrono::seconds tmp_age) {
  const Layout& l = store.layout();
  ManageReport report;
  for (const auto& folder : util::list_dir(l.models_dir())) {
    auto model_lock = store.lock_model(folder);
    if (!model_lock) return std::unexpected(model_lock.error());
    for (const auto& name : util::list_dir(l.refs_dir(folder))) {
      if (name.find(".tmp.") != std::string::npos) continue;
      auto ref = store.read_ref(folder, util::url_decode(name));
      if (!ref) return std::unexpected(ref.error());
      if (*ref && util::exists(l.manifest(folder, (*ref)->snapshot_id))) continue;
      if (auto s = util::remove_file(l.refs_dir(folder) / name); !s)
        return std::unexpected(s.error());
      ++report.refs_removed;
    }
    for (const auto& name : util::list_dir(l.snapshots_dir(folder))) {
      if (name.ends_with(".json") || name.find(".tmp.") != std::string::npos) continue;
      if (util::exists(l.manifest(folder, name))) continue;
      auto lease = Lease::try_exclusive(l, folder, name);
      if (!lease) return std::unexpected(lease.error());
      if (!*lease) continue;
      if (auto s = util::remove_tree(l.snapshot_dir(folder, name)); !s)
        return std::unexpected(s.error());
      (*lease)->remove_file();
      ++report.dirs_removed;
    }
    remove_if_empty(l, folder, report);
  }
  // Lease files whose snapshot is gone (a crash between manifest and lease removal).
  for (const auto& folder : util::list_dir(l.root() / "locks" / "leases")) {
    for (const auto& name : util::list_dir(l.lease_dir(folder))) {
      if (!name.ends_with(".lease")) continue;
      std::string id = name.substr(0, name.size() - 6);
      if (util::exists(l.manifest(folder, id)) || util::exists(l.snapshot_dir(folder, id)))
        continue;
      auto lease = Lease::try_exclusive(l, folder, id);
      if (!lease) return std::unexpected(lease.error());
      if (!*lease) continue;
      (*lease)->remove_file();
      ++report.dirs_removed;
    }
    ::rmdir(l.lease_dir(folder).c_str());
  }
  auto usage = scan(store);
  if (!usage) return std::unexpected(usage.error());
  auto counts = usage->ref_counts();
  if (auto s = delete_unlinked_blobs(store, *usage, counts, report); !s)
    return std::unexpected(s.error());
  // Partial downloads: tmp/<key>.<ext>. A live download holds its blob lock.
  const std::int64_t now = util::unix_now();
  for (const auto& name : util::list_dir(l.tmp_dir())) {
    fs::path p = l.tmp_dir() / name;
    if (now - mtime_of(p) < tmp_age.count()) continue;
    std::string key = name.substr(0, name.find('.'));
    std::optional<util::LockFile> blob_lock;
    if (util::is_hex(key, 64)) {
      auto got = store.try_lock_blob(key);
      if (!got) return std::unexpected(got.error());
      if (!*got) continue;
      blob_lock = std::move(*got);
    }
    struct stat st {};
    std::uint64_t bytes =
        ::lstat(p.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : 0;
    if (auto s = util::remove_file(p); !s) return std::unexpected(s.error());
    ++report.tmp_removed;
    (void)bytes;
  }
  report.bytes_after = usage->blobs_total() - report.bytes_freed;
  return report;
}

// Removes least recently used snapshots until the blobs the remaining ones link
// fit in `max_bytes`, then the blobs no snapshot links. Caller holds the gc lock.
Status gc_locked(const Store& store, std::uint64_t max_bytes, const std::vector<SnapshotName>& keep,
                 ManageReport& report) {
  auto usage = scan(store);
  if (!usage) return std::unexpected(usage.error());
  auto counts = usage->ref_counts();
  std::uint64_t projected = linked_bytes(*usage, counts);
  for (const auto& s : usage->snapshots) {  // oldest use first
    if (projected <= max_bytes) break;
    bool kept = false;
    for (const auto& k : keep)
      kept = kept || (k.folder == s.folder && k.snapshot_id == s.snapshot_id);
    if (kept) continue;
    auto removed = remove_snapshot(store, s.model, s.folder, s.snapshot_id, report);
    if (!removed) return std::unexpected(removed.error());
    if (!*removed) continue;
    for (const auto& b : s.blobs) {
      if (--counts[b] == 0) {
        auto it = usage->blob_bytes.find(b);
        if (it != usage->blob_bytes.end()) projected -= it->second;
      }
    }
  }
  const std::uint64_t freed_before = report.bytes_freed;
  if (auto s = delete_unlinked_blobs(store, *usage, counts, report); !s) return s;
  report.bytes_after = usage->blobs_total() - (report.bytes_freed - freed_before);
  return {};
}

// MODELCACHE_MAX_SIZE is applied by whoever holds the gc lock last: a pull only
// tries the lock (it must not wait for other pulls' downloads), so when a prune,
// rm, purge or gc holds it at that moment, that one applies the budget before it
// lets go; when another pull holds it shared, that pull applies it when it ends.
Status apply_env_budget(const Store& store, ManageReport& report) {
  auto config = core::Config::from_env(store.layout().root());
  if (!config || !config->max_size) return {};
  return gc_locked(store, *config->max_size, {}, report);
}

}  // namespace

Result<util::LockFile> hold_off_gc(const Layout& layout) {
  return util::LockFile::acquire(gc_lock_path(layout), util::LockKind::kShared);
}

Result<std::optional<util::LockFile>> lock_gc(const Layout& layout, Wait wait) {
  if (wait == Wait::kTry)
    return util::LockFile::try_acquire(gc_lock_path(layout), util::LockKind::kExclusive);
  auto got = util::LockFile::try_acquire(gc_lock_path(layout), util::LockKind::kExclusive);
  if (!got || *got) return got;
  util::log(util::LogLevel::kWarn, "waiting for pulls in progress to link their files");
  auto lock = util::LockFile::acquire(gc_lock_path(layout), util::LockKind::kExclusive);
  if (!lock) return std::unexpected(lock.error());
  return std::optional<util::LockFile>(std::move(*lock));
}

Result<ManageReport> gc(const Store& store, std::uint64_t max_bytes,
                        const std::vector<SnapshotName>& keep, Wait wait) {
  auto gc_lock = lock_gc(store.layout(), wait);
  if (!gc_lock) return std::unexpected(gc_lock.error());
  ManageReport report;
  if (!*gc_lock) {
    report.busy = true;
    return report;
  }
  if (auto s = gc_locked(store, max_bytes, keep, report); !s) return std::unexpected(s.error());
  if (auto s = apply_env_budget(store, report); !s) return std::unexpected(s.error());
  return report;
}

Result<ManageReport> prune(const Store& store, std::chrono::seconds tmp_age, Wait wait) {
  auto gc_lock = lock_gc(store.layout(), wait);
  if (!gc_lock) return std::unexpected(gc_lock.error());
  if (!*gc_lock) {
    ManageReport report;
    report.busy = true;
    return report;
  }
  auto report = prune_locked(store, tmp_age);
  if (!report) return report;
  if (auto s = apply_env_budget(store, *report); !s) return std::unexpected(s.error());
  return report;
}

Result<ManageReport> remove(const Store& store, const std::string& folder,
                            std::optional<std::string> snapshot_id, Wait wait) {
  auto gc_lock = lock_gc(store.layout(), wait);
  if (!gc_lock) return std::unexpected(gc_lock.error());
  ManageReport report;
  if (!*gc_lock) {
    report.busy = true;
    return report;
  }
  auto usage = scan(store);
  if (!usage) return std::unexpected(usage.error());
  auto counts = usage->ref_counts();
  std::set<std::string> touched;
  for (const auto& s : usage->snapshots) {
    if (s.folder != folder || (snapshot_id && s.snapshot_id != *snapshot_id)) continue;
    auto removed = remove_snapshot(store, s.model, s.folder, s.snapshot_id, report);
    if (!removed) return std::unexpected(removed.error());
    if (!*removed) continue;
    for (const auto& b : s.blobs) {
      --counts[b];
      touched.insert(b);
    }
  }
  // Only the blobs of the removed snapshots: rm is not prune.
  Usage mine;
  for (const auto& b : touched) {
    if (counts[b] <= 0 && usage->blob_bytes.contains(b))
      mine.blob_bytes[b] = usage->blob_bytes.at(b);
  }
  if (auto s = delete_unlinked_blobs(store, mine, {}, report); !s)
    return std::unexpected(s.error());
  if (!snapshot_id && report.skipped.empty()) {
    // The whole model: its dangling refs and empty folders too.
    auto model_lock = store.lock_model(folder);
    if (!model_lock) return std::unexpected(model_lock.error());
    for (const auto& name : util::list_dir(store.layout().refs_dir(folder))) {
      if (util::remove_file(store.layout().refs_dir(folder) / name)) ++report.refs_removed;
    }
    remove_if_empty(store.layout(), folder, report);
  }
  report.bytes_after = usage->blobs_total() - report.bytes_freed;
  if (auto s = apply_env_budget(store, report); !s) return std::unexpected(s.error());
  return report;
}

Result<ManageReport> purge_models(const Store& store, Wait wait) {
  auto gc_lock = lock_gc(store.layout(), wait);
  if (!gc_lock) return std::unexpected(gc_lock.error());
  ManageReport report;
  if (!*gc_lock) {
    report.busy = true;
    return report;
  }
  auto usage = scan(store);
  if (!usage) return std::unexpected(usage.error());
  for (const auto& s : usage->snapshots) {
    auto removed = remove_snapshot(store, s.model, s.folder, s.snapshot_id, report);
    if (!removed) return std::unexpected(removed.error());
  }
  auto pruned = prune_locked(store, std::chrono::seconds(0));
  if (!pruned) return std::unexpected(pruned.error());
  pruned->removed = std::move(report.removed);
  pruned->skipped = std::move(report.skipped);
  pruned->dirs_removed += report.dirs_removed;
  return pruned;
}

}  // namespace modelcache::store

namespace modelcache::store {

Result<ManageReport> purge(const Store& store, PurgeWhat what, Wait wait) {
  ManageReport report;
  if (what == PurgeWhat::kModels || what == PurgeWhat::kAll) {
    auto r = purge_models(store, wait);
    if (!r) return r;
    report = std::move(*r);
  } else {
    auto usage = scan(store);
    if (!usage) return std::unexpected(usage.error());
    report.bytes_after = usage->blobs_total();
  }
  if (what == PurgeWhat::kResolution || what == PurgeWhat::kAll) {
    // Decisions are a cache of a cache: removing them only costs a re-resolve.
    fs::path dir = store.layout().resolution_cache_dir();
    if (util::exists(dir)) {
      if (auto s = util::remove_tree(dir); !s) return std::unexpected(s.error());
      ++report.dirs_removed;
    }
  }
  return report;
}

}  // namespace modelcache::store
