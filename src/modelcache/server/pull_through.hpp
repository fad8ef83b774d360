// Pull-through for the mirror: the snapshot of a Hub repo at a revision, from
// the store when it has it (a commit, or a branch whose ref is younger than
// MODELCACHE_REF_TTL: no request upstream), else pulled from the upstream by
// Cache::pull. Concurrent requests for the same repo and revision share one pull
// (in-process single-flight; across processes the store's blob locks already
// make a blob download once). Each pull runs on a thread of its own, so that a
// request can stream a file while the pull goes on (server/flight.hpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>

#include "core/model_ref.hpp"
#include "server/access_guard.hpp"
#include "server/flight.hpp"
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
  // Waits for the pull threads (the stop token given above ends them early).
  ~PullThrough();

  // True when a pull of repo@revision would be answered by the store alone (a
  // cached commit, or a branch whose ref is younger than MODELCACHE_REF_TTL).
  bool in_store(const core::ModelRef& repo, std::string_view revision) const;

  // The snapshot, once `guard` agrees that a client with `token` (the value of its
  // "Authorization: Bearer", if any) may read it; a pull uses that token upstream.
  Result<MirrorSnapshot> get(const core::ModelRef& repo, std::string_view revision,
                             const std::optional<std::string>& token);
  // The pull get() would wait for, started (or joined) without waiting, `first`
  // fetched before the other files when this call starts it: a streaming GET
  // follows that file's bytes in the flight, then calls finish_get().
  std::shared_ptr<Flight> start(const core::ModelRef& repo, std::string_view revision,
                                const std::optional<std::string>& token, const std::string& first);
  // get() of a flight from start().
  Result<MirrorSnapshot> finish_get(const core::ModelRef& repo, const std::shared_ptr<Flight>& flight,
                                    const std::optional<std::string>& token);

  // A pull for POST /v1/pull: `ref` with `options` (revision, allow, ignore,
  // on_progress; stop is set here). With no allow/ignore and no token, it shares
  // the single-flight of the mirror's pulls of the same repo@revision; a waiter
  // gets no progress calls, only the result.
  Result<Snapshot> pull(std::string_view ref_text, const core::ModelRef& ref, PullOptions options);

  // Configured repo names (--repo NAME=REF): get() and in_store() answer them from
  // REF's origin, never from the Hub (pull_through_named.cpp). Set before serving.
  void set_repo_names(const RepoNames* names) { names_ = names; }
  // A GET answered by streaming from a flight: a miss (finish_get is not called).
  void count_streamed() { metrics_.cache_miss(); }

  const store::Store& store() const { return store_; }
  Cache& cache() { return cache_; }

 private:
  Result<Snapshot> pull_shared(const core::ModelRef& repo, const std::string& revision,
                               const std::optional<std::string>& token);
  Result<MirrorSnapshot> get_named(const RepoName& named, std::string_view revision);
  // One pull per `key` at a time; the others join it. kInline: a new pull runs on
  // the caller's thread (it would only wait), kThread: on a thread of its own.
  enum class Launch { kInline, kThread };
  std::shared_ptr<Flight> join_flight(const std::string& key, const core::ModelRef& repo,
                                      std::string_view ref_text, PullOptions options, Launch launch);
  void run_flight(const std::string& key, const std::shared_ptr<Flight>& flight, const core::ModelRef& repo,
                  const std::string& ref_text, PullOptions options);
  Result<Snapshot> counted(Result<Snapshot> result);
  Result<MirrorSnapshot> with_manifest(const core::ModelRef& repo, Result<Snapshot> snapshot,
                                       const std::optional<std::string>& token);

  Cache& cache_;
  store::Store store_;
  AccessGuard& guard_;
  std::chrono::seconds ref_ttl_;
  std::stop_token stop_;
  Metrics& metrics_;
  const RepoNames* names_ = nullptr;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Flight>> in_flight_;  // "id@revision token-hash"
  int running_ = 0;  // pull threads still running, guarded by mutex_
  std::condition_variable idle_;
};

}  // namespace modelcache::server
