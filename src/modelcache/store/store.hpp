// The content-addressed store: blobs named by sha256, snapshots as trees of
// relative symlinks into blobs, a manifest per snapshot, refs that record when
// they were resolved. See doc/ARCHITECTURE.md for the invariants and locks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "modelcache/cache.hpp"
#include "modelcache/error.hpp"
#include "store/layout.hpp"
#include "store/manifest.hpp"
#include "store/root_check.hpp"
#include "util/lock_file.hpp"

namespace modelcache::store {

struct RefRecord {
  std::string snapshot_id;
  std::int64_t resolved_at = 0;  // unix seconds
};

struct SnapshotKey {
  std::string model;   // ModelRef::id()
  std::string folder;  // ModelRef::folder_name()
  std::string snapshot_id;
  std::string origin;  // for the manifest; no secrets
};

struct SnapshotInfo {
  std::string model;
  std::string folder;
  std::string snapshot_id;
  std::vector<std::string> revisions;  // refs pointing at it
  fs::path path;
  std::uint64_t bytes = 0;
  std::size_t files = 0;
};

struct VerifyIssue {
  std::string blob;    // sha256
  std::string reason;  // "content hashes to ...", "missing", "size ..."
};

class Store {
 public:
  // Creates the layout if needed; refuses a root whose VERSION is from another format.
  // Refuses a root (or blobs/ models/ tmp/ locks/) that another user owns or
  // could plant files in, unless `policy` allows it (store/root_check.hpp); then
  // confines every write below the root (util/beneath.hpp).
  static Result<Store> open(const fs::path& root, const RootPolicy& policy = {});

  const Layout& layout() const { return layout_; }

  bool has_blob(std::string_view sha256) const;
  // Moves a complete, fsynced part file into blobs/ (read-only), fsyncs the directory.
  // If the blob already exists the part file is removed and that is success.
  Status commit_blob(const fs::path& part_file, std::string_view sha256);

  // Exclusive lock for downloading one blob (key: sha256, or a derived key when
  // the digest is not known in advance). See the lock protocol.
  Result<util::LockFile> lock_blob(std::string_view key) const;
  Result<std::optional<util::LockFile>> try_lock_blob(std::string_view key) const;
  // Exclusive lock for updating one model's refs, snapshot links and manifests.
  Result<util::LockFile> lock_model(std::string_view folder) const;

  Result<std::optional<RefRecord>> read_ref(std::string_view folder, std::string_view revision) const;
  Status write_ref(std::string_view folder, std::string_view revision, const RefRecord& record) const;

  Result<std::optional<Manifest>> read_manifest(std::string_view folder, std::string_view id) const;

  // Records the origin's `listing` for a snapshot and links the `present` files
  // (their blobs already committed; each link made atomically), then rewrites the
  // manifest atomically as the union with what was there (invariant 2).
  // Caller holds the model lock.
  Result<Manifest> add_to_snapshot(const SnapshotKey& key, const std::vector<ManifestEntry>& listing,
                                   const std::vector<ManifestEntry>& present) const;

  Result<std::vector<SnapshotInfo>> list() const;
  // Re-hashes every blob (or those of one model folder); `repair` removes bad ones.
  Result<std::vector<VerifyIssue>> verify(std::optional<std::string> folder, VerifyMode mode) const;

 private:
  explicit Store(fs::path root) : layout_(std::move(root)) {}
  Layout layout_;
};

}  // namespace modelcache::store
