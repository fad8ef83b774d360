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
#include "server/metrics.hpp"
#include "server/repo_names.hpp"
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
  // `metrics` counts cache hits/misses, fetched bytes, upstream errors and pulls in flight.
  PullThrough(Cache& cache, store::Store store, AccessGuard& guard, std::chrono::seconds ref_ttl,
              std::stop_token stop, Metrics& metrics);

  // True when a pull of repo@revision would be answered by the store alone (a
  // cached commit, or a branch whose ref is younger than MODELCACHE_REF_TTL).
  bool in_store(const core::ModelRef& repo, std::string_view revision) const;

  // The snapshot, once `guard` agrees that a client with `token` (the value of its
  // "Authorization: Bearer", if any) may read it; a pull uses that token upstream.
  Result<MirrorSnapshot> get(const core::ModelRef& repo, std::string_view revision,
                             const std::optional<std::string>& token);

  // A pull for POST /v1/pull: `ref` with `options` (revision, allow, ignore,
  // on_progress; stop is set here). With no allow/ignore and no token, it shares
  // the single-flight of the mirror's pulls of the same repo@revision; a waiter
  // gets no progress calls, only the result.
  Result<Snapshot> pull(std::string_view ref_text, const core::ModelRef& ref, PullOptions options);

  // Configured repo names (--repo NAME=REF): get() and in_store() answer them from
  // REF's origin, never from the Hub (pull_through_named.cpp). Set before serving.
  void set_repo_names(const RepoNames* names) { names_ = names; }

  const store::Store& store() const { return store_; }
  Cache& cache() { return cache_; }

 private:
  Result<Snapshot> pull_shared(const core::ModelRef& repo, const std::string& revision,
                               const std::optional<std::string>& token);
  Result<MirrorSnapshot> get_named(const RepoName& named, std::string_view revision);
  // One pull per `key` at a time; the others wait for its result.
  Result<Snapshot> single_flight(const std::string& key, const core::ModelRef& repo, std::string_view ref_text,
                                 PullOptions options);

  Cache& cache_;
  store::Store store_;
  AccessGuard& guard_;
  std::chrono::seconds ref_ttl_;
  std::stop_token stop_;
  Metrics& metrics_;
  const RepoNames* names_ = nullptr;
  std::mutex mutex_;
  std::map<std::string, std::shared_future<Result<Snapshot>>> in_flight_;  // "id@revision token-hash"
};

}  // namespace modelcache::server
