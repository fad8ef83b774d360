#include "cache/remove_ref.hpp"

#include <string>
#include <vector>

#include "core/model_ref.hpp"
#include "util/fs.hpp"

namespace modelcache {

namespace {

// Reads every manifest in the store (Store::list): only for REF@REV.
Result<std::string> resolve_snapshot(const store::Store& store, const core::ModelRef& ref) {
  auto snaps = store.list();
  if (!snaps) return std::unexpected(snaps.error());
  const std::string folder = ref.folder_name();
  std::vector<std::string> matches;
  for (const auto& s : *snaps) {
    if (s.folder != folder) continue;
    if (s.snapshot_id == ref.revision) return s.snapshot_id;
    if (ref.revision.size() >= 7 && s.snapshot_id.starts_with(ref.revision))
      matches.push_back(s.snapshot_id);
  }
  auto rec = store.read_ref(folder, ref.revision);
  if (rec && *rec) return (*rec)->snapshot_id;
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    return fail(ErrorCode::kInvalidArgument, ref.revision + " matches " +
                                                 std::to_string(matches.size()) + " snapshots of " +
                                                 ref.id() + "; give more characters");
  }
  return fail(ErrorCode::kNotCached,
              ref.id() + "@" + ref.revision + " is not in the cache (see `modelcache ls`)");
}

}  // namespace

Result<store::ManageReport> remove_ref(const store::Store& store, std::string_view ref_text) {
  auto ref = core::parse_ref(ref_text);
  if (!ref) return std::unexpected(ref.error());
  const std::string folder = ref->folder_name();
  if (!util::exists(store.layout().model_dir(folder)))
    return fail(ErrorCode::kNotCached, ref->id() + " is not in the cache (see `modelcache ls`)");
  // hf:// refs default to @main: only an explicit @ (or a bucket pin) names one snapshot.
  auto scheme = ref_text.find("://");
  auto at = ref_text.find('@', scheme == std::string_view::npos ? 0 : scheme + 3);
  bool one = (ref->kind == core::RefKind::kHuggingFace || ref->is_bucket()) &&
             at != std::string_view::npos && !ref->revision.empty();
  std::optional<std::string> id;
  if (one) {
    auto resolved = resolve_snapshot(store, *ref);
    if (!resolved) return std::unexpected(resolved.error());
    id = *resolved;
  }
  return store::remove(store, folder, id);
}

}  // namespace modelcache
