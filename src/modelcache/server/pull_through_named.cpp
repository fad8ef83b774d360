// PullThrough for a configured repo name (--repo NAME=REF, server/repo_names.hpp):
// REF pulled by Cache::pull (its ref TTL makes a warm request a store read),
// single-flight like the mirror's Hub pulls. No AccessGuard: REF's origin is
// read with the daemon's own credentials; who may use NAME is the tenants' rule.
#include <fmt/format.h>

#include "server/pull_through.hpp"

namespace modelcache::server {

Result<MirrorSnapshot> PullThrough::get_named(const RepoName& named, std::string_view revision) {
  const bool commit = core::is_commit_hash(revision);
  if (revision != "main" && !commit) {
    return fail(ErrorCode::kRevisionNotFound,
                fmt::format("{} has only the revision main and its snapshot id", named.name));
  }
  PullOptions options;
  // A bucket snapshot id is a pin: a cached one is answered without a request.
  if (commit && named.target.is_bucket()) options.revision = std::string(revision);
  auto snapshot = counted(join_flight(fmt::format("name {}@{}", named.name, options.revision), named.target,
                                      named.target_text, std::move(options), Launch::kInline)
                              ->wait_result());
  if (!snapshot) return std::unexpected(snapshot.error());
  // Other origins have no history to ask: the snapshot id names the current one only.
  if (commit && snapshot->snapshot_id != revision) {
    return fail(ErrorCode::kRevisionNotFound, fmt::format("{} is no longer at snapshot {}", named.name, revision));
  }
  auto manifest = store_.read_manifest(named.target.folder_name(), snapshot->snapshot_id);
  if (!manifest) return std::unexpected(manifest.error());
  if (!*manifest) {
    return fail(ErrorCode::kNotCached, fmt::format("snapshot {} of {} has no manifest; run `modelcache prune`",
                                                   snapshot->snapshot_id, named.target.id()));
  }
  return MirrorSnapshot{std::move(*snapshot), std::move(**manifest)};
}

}  // namespace modelcache::server
