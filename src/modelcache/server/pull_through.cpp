#include "server/pull_through.hpp"

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/hasher.hpp"

namespace modelcache::server {

PullThrough::PullThrough(Cache& cache, store::Store store, AccessGuard& guard, std::chrono::seconds ref_ttl,
                         std::stop_token stop)
    : cache_(cache), store_(std::move(store)), guard_(guard), ref_ttl_(ref_ttl), stop_(std::move(stop)) {}

bool PullThrough::in_store(const core::ModelRef& repo, std::string_view revision) const {
  std::string id(revision);
  if (!core::is_commit_hash(revision)) {
    auto ref = store_.read_ref(repo.folder_name(), revision);
    if (!ref || !*ref) return false;
    auto age = util::unix_now() - (*ref)->resolved_at;
    if (age < 0 || age >= ref_ttl_.count()) return false;
    id = (*ref)->snapshot_id;
  }
  auto manifest = store_.read_manifest(repo.folder_name(), id);
  return manifest && *manifest && (*manifest)->present_count() == (*manifest)->files.size();
}

Result<Snapshot> PullThrough::pull_shared(const core::ModelRef& repo, const std::string& revision,
                                          const std::optional<std::string>& token) {
  // Clients with different credentials never share a pull: one's refusal is not
  // the other's answer.
  const std::string key = repo.id() + "@" + revision + " " + (token ? util::sha256_hex(*token) : "-");
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
  options.token = token;
  bool listed = false;  // on_files is called only when the pull listed the upstream
  options.on_files = [&listed](std::span<const FileProgress>) { listed = true; };
  auto result = cache_.pull(repo.id(), options);
  if (result && listed) guard_.note_listed(repo, token);
  {
    // Removed before the waiters wake: a later request asks the store again,
    // which answers a fresh ref or a commit without the upstream.
    std::lock_guard lock(mutex_);
    in_flight_.erase(key);
  }
  promise.set_value(result);
  return result;
}

Result<MirrorSnapshot> PullThrough::get(const core::ModelRef& repo, std::string_view revision,
                                        const std::optional<std::string>& token) {
  auto snapshot = pull_shared(repo, std::string(revision), token);
  if (!snapshot) return std::unexpected(snapshot.error());
  // Also when the store answered: cached content of a private repo is served only
  // to a client the upstream accepts.
  if (auto s = guard_.check(repo, snapshot->snapshot_id, token); !s) return std::unexpected(s.error());
  auto manifest = store_.read_manifest(repo.folder_name(), snapshot->snapshot_id);
  if (!manifest) return std::unexpected(manifest.error());
  if (!*manifest) {
    return fail(ErrorCode::kNotCached, fmt::format("snapshot {} of {} has no manifest; run `modelcache prune`",
                                                   snapshot->snapshot_id, repo.id()));
  }
  return MirrorSnapshot{std::move(*snapshot), std::move(**manifest)};
}

}  // namespace modelcache::server
