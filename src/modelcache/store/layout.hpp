// Every path of the on-disk format v1, built in one place (doc/ARCHITECTURE.md).
//   $ROOT/VERSION
//   $ROOT/blobs/sha256/<2 hex>/<64 hex>
//   $ROOT/models/<folder>/refs/<revision, url-encoded>
//   $ROOT/models/<folder>/snapshots/<id>/<path>   relative symlinks into blobs/
//   $ROOT/models/<folder>/snapshots/<id>.json     manifest
//   $ROOT/tmp/<key>.part, $ROOT/tmp/<key>.journal
//   $ROOT/locks/blobs/<key>.lock, $ROOT/locks/models/<folder>.lock
//   $ROOT/locks/leases/<folder>/<id>.lease, $ROOT/locks/gc.lock   (store/lease.hpp, store/gc.hpp)
//   $ROOT/resolution-cache/<64 hex>.json          package decisions (package/decision_cache.hpp)
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace modelcache::store {

namespace fs = std::filesystem;

inline constexpr int kFormatVersion = 1;

class Layout {
 public:
  explicit Layout(fs::path root) : root_(std::move(root)) {}
  const fs::path& root() const { return root_; }

  fs::path version_file() const { return root_ / "VERSION"; }
  fs::path blobs_dir() const { return root_ / "blobs" / "sha256"; }
  fs::path blob(std::string_view sha256) const {
    return blobs_dir() / std::string(sha256.substr(0, 2)) / std::string(sha256);
  }
  fs::path models_dir() const { return root_ / "models"; }
  fs::path model_dir(std::string_view folder) const { return models_dir() / std::string(folder); }
  fs::path refs_dir(std::string_view folder) const { return model_dir(folder) / "refs"; }
  fs::path ref_file(std::string_view folder, std::string_view revision) const;
  fs::path snapshots_dir(std::string_view folder) const { return model_dir(folder) / "snapshots"; }
  fs::path snapshot_dir(std::string_view folder, std::string_view id) const {
    return snapshots_dir(folder) / std::string(id);
  }
  fs::path manifest(std::string_view folder, std::string_view id) const {
    return snapshots_dir(folder) / (std::string(id) + ".json");
  }
  fs::path tmp_dir() const { return root_ / "tmp"; }
  fs::path part_file(std::string_view key) const { return tmp_dir() / (std::string(key) + ".part"); }
  fs::path journal_file(std::string_view key) const {
    return tmp_dir() / (std::string(key) + ".journal");
  }
  fs::path blob_lock(std::string_view key) const {
    return root_ / "locks" / "blobs" / (std::string(key) + ".lock");
  }
  fs::path model_lock(std::string_view folder) const {
    return root_ / "locks" / "models" / (std::string(folder) + ".lock");
  }
  // Shared flock while a process uses a snapshot; its mtime records last use.
  fs::path lease_dir(std::string_view folder) const {
    return root_ / "locks" / "leases" / std::string(folder);
  }
  fs::path lease(std::string_view folder, std::string_view id) const {
    return lease_dir(folder) / (std::string(id) + ".lease");
  }
  // Shared by pulls from their first blob check until their snapshot is leased;
  // exclusive while gc/prune/rm/purge remove anything.
  fs::path gc_lock() const { return root_ / "locks" / "gc.lock"; }
  // Package negotiation decisions (package/decision_cache.hpp), unless
  // MODELCACHE_RESOLUTION_CACHE_DIR moves them.
  fs::path resolution_cache_dir() const { return root_ / "resolution-cache"; }

 private:
  fs::path root_;
};

}  // namespace modelcache::store
