// modelcache rm REF | REF@REV: remove a whole model, or one snapshot (REV is a
// revision with a ref, a snapshot id, or a unique prefix of one of >= 7 chars).
// There is no --force: a lease means a process is reading those files right now;
// the snapshot is kept, named on stderr, and the exit status is 1.
#include <memory>

#include "cli/commands.hpp"
#include "cli/manage.hpp"
#include "core/model_ref.hpp"

namespace modelcache::cli {

namespace {

Result<std::string> resolve_snapshot(const store::Store& store, const core::ModelRef& ref,
                                     const std::vector<store::SnapshotInfo>& snaps) {
  const std::string folder = ref.folder_name();
  std::vector<std::string> matches;
  for (const auto& s : snaps) {
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

void add_rm(CLI::App& app) {
  struct Args {
    std::string ref;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("rm", "Remove a model, or one snapshot of it (REF@REV)");
  cmd->add_option("ref", args->ref, "model reference as given to pull; @REV for one snapshot")
      ->required();
  cmd->add_flag("--json", args->json, "one JSON object");
  cmd->callback([args] {
    auto run = [&]() -> Result<store::ManageReport> {
      auto ref = core::parse_ref(args->ref);
      if (!ref) return std::unexpected(ref.error());
      auto store = open_store();
      if (!store) return std::unexpected(store.error());
      auto snaps = store->list();
      if (!snaps) return std::unexpected(snaps.error());
      const std::string folder = ref->folder_name();
      bool known = util::exists(store->layout().model_dir(folder));
      if (!known)
        return fail(ErrorCode::kNotCached,
                    ref->id() + " is not in the cache (see `modelcache ls`)");
      // hf:// refs default to @main: only an explicit @ (or a bucket pin) names one snapshot.
      auto at = args->ref.find(
          '@', args->ref.find("://") == std::string::npos ? 0 : args->ref.find("://") + 3);
      bool one = (ref->kind == core::RefKind::kHuggingFace || ref->is_bucket()) &&
                 at != std::string::npos && !ref->revision.empty();
      std::optional<std::string> id;
      if (one) {
        auto resolved = resolve_snapshot(*store, *ref, *snaps);
        if (!resolved) return std::unexpected(resolved.error());
        id = *resolved;
      }
      return store::remove(*store, folder, id);
    };
    auto report = run();
    if (!report) {
      exit_status() = report_error(report.error());
      return;
    }
    print_report("rm", *report, args->json);
    if (!report->skipped.empty()) exit_status() = 1;
  });
}

}  // namespace modelcache::cli
