// What the cache holds and who uses it: every snapshot with its blobs and last
// use, every blob on disk with its size, and the bytes in tmp/. gc, prune, du
// and ls read the store through this one scan.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "modelcache/error.hpp"
#include "store/store.hpp"

namespace modelcache::store {

struct SnapshotUsage {
  std::string model;
  std::string folder;
  std::string snapshot_id;
  std::vector<std::string> revisions;  // refs pointing at it
  std::set<std::string> blobs;         // sha256 of its linked files
  std::uint64_t bytes = 0;             // of its linked files, shared blobs counted once
  std::int64_t last_used = 0;          // unix seconds (store/lease.hpp)
  std::int64_t last_used_ns = 0;       // the same in nanoseconds: the LRU order
};

struct Usage {
  std::vector<SnapshotUsage> snapshots;             // sorted by last_used, oldest first
  std::map<std::string, std::uint64_t> blob_bytes;  // every blob on disk -> size
  std::uint64_t tmp_bytes = 0;                      // partial downloads and journals
  // How many snapshots link each blob (blobs no snapshot links are absent).
  std::map<std::string, int> ref_counts() const;
  std::uint64_t blobs_total() const;  // bytes of every blob on disk
};

Result<Usage> scan(const Store& store);


}  // namespace modelcache::store
