// Pull-through for the mirror: the snapshot of a Hub repo at a revision, from
// the store when it has it (a commit, or a branch whose ref is younger than
// MODELCACHE_REF_TTL: no request upstream), else pulled from the upstream by
// Cache::pull. Concurrent requests for the same repo and revision share one pull
// (in-process single-flight; across processes the store's blob locks already
// make a blob download once).
#pragma once

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>

#include "core/model_ref.hpp"
#include "server/access_guard.hpp"
#include "modelcache/cache.hpp"
#include "store/manifest.hpp"
#include "store/store.hpp"

namespace modelcache::server {

// A snapshot a request answers from. Its lease (inside `snapshot`) keeps gc from
// removing it while the request runs.
struct MirrorSnapshot {
  Snapshot snapshot;
  store::Manifest manifest;  // every file: size, blob sha256, the Hub's digest
};

class PullThrough {
 public:
  // `stop` cancels pulls in flight (daemon shutdown): they keep their part files.
  PullThrough(Cache& cache, store::Store store, AccessGuard& guard, std::chrono::seconds ref_ttl,
              std::stop_token stop);

  // True when a pull of repo@revision would be answered by the store alone (a
  // cached commit, or a branch whose ref is younger than MODELCACHE_REF_TTL).
  bool in_store(const core::ModelRef& repo, std::string_view revision) const;

  // The snapshot, once `guard` agrees that a client with `token` (the value of its
  // "Authorization: Bearer", if any) may read it; a pull uses that token upstream.
  Result<MirrorSnapshot> get(const core::ModelRef& repo, std::string_view revision,
                             const std::optional<std::string>& token);

  const store::Store& store() const { return store_; }

 private:
  Result<Snapshot> pull_shared(const core::ModelRef& repo, const std::string& revision,
                               const std::optional<std::string>& token);

  Cache& cache_;
  store::Store store_;
  AccessGuard& guard_;
  std::chrono::seconds ref_ttl_;
  std::stop_token stop_;
  std::mutex mutex_;
  std::map<std::string, std::shared_future<Result<Snapshot>>> in_flight_;  // "id@revision token-hash"
};

}  // namespace modelcache::server
