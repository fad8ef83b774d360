// Removing things from the store: gc to a size budget (least recently used
// snapshots first), prune (what nothing uses), rm of a model or one snapshot,
// purge. Every one runs under the exclusive gc lock (locks/gc.lock), which a pull
// holds shared from its first blob check until its snapshot is linked: so a blob
// that a pull found present, or committed and has not linked yet, is never
// deleted under it. A snapshot whose lease is held is skipped, never removed; a
// blob is deleted only when no remaining snapshot links it.
// See doc/ARCHITECTURE.md, "Cache management".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modelcache/error.hpp"
#include "store/store.hpp"
#include "util/lock_file.hpp"

namespace modelcache::store {

enum class Wait { kBlock, kTry };

// A pull holds this (shared) while it may rely on a blob that no snapshot links yet.
Result<util::LockFile> hold_off_gc(const Layout& layout);
// Exclusive gc lock; with kTry, std::nullopt when a pull or another gc holds it.
Result<std::optional<util::LockFile>> lock_gc(const Layout& layout, Wait wait);

struct SnapshotName {
  std::string folder;
  std::string snapshot_id;
};

struct ManageReport {
  std::vector<std::string> removed;  // "model@snapshot"
  std::vector<std::string> skipped;  // "model@snapshot" kept because a process holds its lease
  std::size_t blobs_removed = 0;
  std::uint64_t bytes_freed = 0;  // of the removed blobs
  std::size_t tmp_removed = 0;    // stale partial downloads
  std::size_t refs_removed = 0;   // dangling refs
  std::size_t dirs_removed =
      0;  // orphan snapshot dirs, lease files, empty folders, resolution-cache
  std::uint64_t bytes_after = 0;  // blobs on disk afterwards
  bool busy = false;              // kTry and the gc lock was held: nothing was done
};

enum class PurgeWhat { kModels, kResolution, kAll };

// Removes least recently used snapshots until the blobs the remaining ones link
// fit in `max_bytes`, never one in `keep` or one that is leased; then deletes
// every blob no remaining snapshot links. bytes_after > max_bytes when leased or
// kept snapshots alone exceed the budget.
Result<ManageReport> gc(const Store& store, std::uint64_t max_bytes,
                        const std::vector<SnapshotName>& keep = {}, Wait wait = Wait::kBlock);

// Blobs no snapshot links, tmp/ files older than `tmp_age` whose blob lock is
// free, refs naming a missing manifest, snapshot dirs without a manifest, lease
// files of missing snapshots, empty model folders.
Result<ManageReport> prune(const Store& store, std::chrono::seconds tmp_age,
                           Wait wait = Wait::kBlock);

// Removes one snapshot (`snapshot_id` set) or all snapshots of a model folder,
// their refs, and the blobs no remaining snapshot links. Leased ones are kept and
// named in `skipped`.
Result<ManageReport> remove(const Store& store, const std::string& folder,
                            std::optional<std::string> snapshot_id, Wait wait = Wait::kBlock);

// Every snapshot that is not leased, then prune with no age threshold.
Result<ManageReport> purge_models(const Store& store, Wait wait = Wait::kBlock);
// kModels: purge_models; kResolution: $ROOT/resolution-cache/ (absent is fine); kAll: both.
Result<ManageReport> purge(const Store& store, PurgeWhat what, Wait wait = Wait::kBlock);

}  // namespace modelcache::store
