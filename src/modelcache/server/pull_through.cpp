#include "server/pull_through.hpp"

#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/hasher.hpp"

namespace modelcache::server {

PullThrough::PullThrough(Cache& cache, store::Store store, AccessGuard& guard, std::chrono::seconds ref_ttl,
                         std::stop_token stop, Metrics& metrics)
    : cache_(cache),
      store_(std::move(store)),
      guard_(guard),
      ref_ttl_(ref_ttl),
      stop_(std::move(stop)),
      metrics_(metrics) {}

bool PullThrough::in_store(const core::ModelRef& repo, std::string_view revision) const {
  // A configured name is never asked of the Hub: its HEAD waits for the pull from REF.
  if (names_ != nullptr && names_->find(repo) != nullptr) return true;
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

namespace {

std::string flight_key(const core::ModelRef& repo, const std::string& revision,
                       const std::optional<std::string>& token) {
  // Clients with different credentials never share a pull: one's refusal is not
  // the other's answer.
  return repo.id() + "@" + revision + " " + (token ? util::sha256_hex(*token) : "-");
}

bool upstream_failure(ErrorCode code) {
  // Not a 404 or a refusal: those are the client's answer, not an upstream fault.
  return code == ErrorCode::kNetwork || code == ErrorCode::kTimeout || code == ErrorCode::kProtocol ||
         code == ErrorCode::kIntegrity;
}

}  // namespace

Result<Snapshot> PullThrough::pull_shared(const core::ModelRef& repo, const std::string& revision,
                                          const std::optional<std::string>& token) {
  PullOptions options;
  options.revision = revision;
  options.token = token;
  return counted(join_flight(flight_key(repo, revision, token), repo, repo.id(), std::move(options),
                             Launch::kInline)->wait_result());
}

std::shared_ptr<Flight> PullThrough::start(const core::ModelRef& repo, std::string_view revision,
                                           const std::optional<std::string>& token, const std::string& first) {
  PullOptions options;
  options.revision = std::string(revision);
  options.token = token;
  options.first = first;
  return join_flight(flight_key(repo, options.revision, token), repo, repo.id(), std::move(options),
                     Launch::kThread);
}

Result<Snapshot> PullThrough::pull(std::string_view ref_text, const core::ModelRef& ref, PullOptions options) {
  // Cache::pull reads the revision from the text itself (a URL's id hides its query).
  std::string key = flight_key(ref, options.revision.empty() ? ref.revision : options.revision, options.token);
  // A filtered pull selects other files: it shares only with the same filter.
  for (const auto& g : options.allow) key += " +" + g;
  for (const auto& g : options.ignore) key += " -" + g;
  if (!options.package.empty()) key += " package:" + options.package;  // another selection too
  return counted(join_flight(key, ref, ref_text, std::move(options), Launch::kInline)->wait_result());
}

Result<Snapshot> PullThrough::counted(Result<Snapshot> result) {
  // A hit: every byte came from the store (a waiter counts as its leader's pull).
  if (result && result->bytes_downloaded == 0) {
    metrics_.cache_hit();
  } else {
    metrics_.cache_miss();
  }
  return result;
}

std::shared_ptr<Flight> PullThrough::join_flight(const std::string& key, const core::ModelRef& repo,
                                                 std::string_view ref_text, PullOptions options, Launch launch) {
  auto flight = std::make_shared<Flight>();
  {
    std::lock_guard lock(mutex_);
    if (auto it = in_flight_.find(key); it != in_flight_.end()) return it->second;
    in_flight_.emplace(key, flight);
    ++running_;
  }
  if (launch == Launch::kInline) {
    run_flight(key, flight, repo, std::string(ref_text), std::move(options));
    return flight;
  }
  try {
    std::thread([this, key, flight, repo, text = std::string(ref_text), options = std::move(options)]() mutable {
      run_flight(key, flight, repo, text, std::move(options));
    }).detach();
  } catch (const std::system_error& e) {  // out of threads: this pull fails, the daemon goes on
    std::lock_guard lock(mutex_);
    in_flight_.erase(key);
    --running_;
    flight->finish(fail(ErrorCode::kInternal, fmt::format("cannot start a pull thread: {}; retry", e.what())));
  }
  return flight;
}

void PullThrough::run_flight(const std::string& key, const std::shared_ptr<Flight>& flight,
                             const core::ModelRef& repo, const std::string& ref_text, PullOptions options) {
  options.stop = stop_;
  bool listed = false;  // on_files is called only when the pull listed the upstream
  auto on_files = std::move(options.on_files);
  options.on_files = [&listed, &on_files, &flight](std::span<const FileProgress> files) {
    listed = true;
    flight->on_files(files);
    if (on_files) on_files(files);
  };
  metrics_.pull_started();
  auto result = cache_.pull(ref_text, options);
  if (result) {
    metrics_.add_fetched(result->bytes_downloaded);
    if (listed && repo.kind == core::RefKind::kHuggingFace) guard_.note_listed(repo, options.token);
  } else if (upstream_failure(result.error().code)) {
    metrics_.upstream_error();
  }
  // Last: a streamed GET ends before its pull does; pulls_in_flight 0 says that
  // the pull's snapshot and figures are in.
  metrics_.pull_finished();
  {
    // Removed before the waiters wake: a later request asks the store again,
    // which answers a fresh ref or a commit without the upstream.
    std::lock_guard lock(mutex_);
    in_flight_.erase(key);
  }
  flight->finish(std::move(result));
  std::lock_guard lock(mutex_);
  --running_;
  idle_.notify_all();  // under the lock: ~PullThrough may destroy idle_ once it has the lock
}

PullThrough::~PullThrough() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return running_ == 0; });
}

Result<MirrorSnapshot> PullThrough::get(const core::ModelRef& repo, std::string_view revision,
                                        const std::optional<std::string>& token) {
  if (const RepoName* named = names_ != nullptr ? names_->find(repo) : nullptr) return get_named(*named, revision);
  return with_manifest(repo, pull_shared(repo, std::string(revision), token), token);
}

Result<MirrorSnapshot> PullThrough::finish_get(const core::ModelRef& repo, const std::shared_ptr<Flight>& flight,
                                               const std::optional<std::string>& token) {
  return with_manifest(repo, counted(flight->wait_result()), token);
}

Result<MirrorSnapshot> PullThrough::with_manifest(const core::ModelRef& repo, Result<Snapshot> snapshot,
                                                  const std::optional<std::string>& token) {
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
