#include "server/pull_through.hpp"

#include <fmt/format.h>

namespace modelcache::server {

PullThrough::PullThrough(Cache& cache, store::Store store, std::stop_token stop)
    : cache_(cache), store_(std::move(store)), stop_(std::move(stop)) {}

Result<Snapshot> PullThrough::pull_shared(const core::ModelRef& repo, const std::string& revision) {
  const std::string key = repo.id() + "@" + revision;
  std::promise<Result<Snapshot>> promise;
  std::shared_future<Result<Snapshot>> shared;
  bool leader = false;
  {
    std::lock_guard lock(mutex_);
    auto it = in_flight_.find(key);
    if (it != in_flight_.end()) {
      shared = it->second;
    } else {
      shared = promise.get_future().share();
      in_flight_.emplace(key, shared);
      leader = true;
    }
  }
  if (!leader) return shared.get();  // a copy: every waiter holds its own lease
  PullOptions options;
  options.revision = revision;
  options.stop = stop_;
  auto result = cache_.pull(repo.id(), options);
  {
    // Removed before the waiters wake: a later request asks the store again,
    // which answers a fresh ref or a commit without the upstream.
    std::lock_guard lock(mutex_);
    in_flight_.erase(key);
  }
  promise.set_value(result);
  return result;
}

Result<MirrorSnapshot> PullThrough::get(const core::ModelRef& repo, std::string_view revision) {
  auto snapshot = pull_shared(repo, std::string(revision));
  if (!snapshot) return std::unexpected(snapshot.error());
  auto manifest = store_.read_manifest(repo.folder_name(), snapshot->snapshot_id);
  if (!manifest) return std::unexpected(manifest.error());
  if (!*manifest) {
    return fail(ErrorCode::kNotCached, fmt::format("snapshot {} of {} has no manifest; run `modelcache prune`",
                                                   snapshot->snapshot_id, repo.id()));
  }
  return MirrorSnapshot{std::move(*snapshot), std::move(**manifest)};
}

}  // namespace modelcache::server
