// modelcache export REF --hf-cache [DIR] [--repo-id ORG/NAME] [--allow G]... [--json]
// Writes a cached snapshot into a Hugging Face cache folder (cache/hf_export.hpp);
// never uses the network: a snapshot that is not cached is an error.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cache/hf_export.hpp"
#include "cli/commands.hpp"
#include "cli/manage.hpp"
#include "core/config.hpp"
#include "util/strings.hpp"

namespace modelcache::cli {

namespace {
struct ExportArgs {
  std::string ref;
  std::string hf_cache;
  std::string repo_id;
  std::string revision;
  std::vector<std::string> allow;
  std::vector<std::string> ignore;
  bool json = false;
};

Result<cache::HfExportReport> run_export(const ExportArgs& args) {
  auto dir = core::resolve_hf_cache_dir(args.hf_cache);
  if (!dir) return std::unexpected(dir.error());
  auto ref = core::parse_ref(args.ref);
  if (!ref) return std::unexpected(ref.error());
  if (!args.revision.empty()) ref->revision = args.revision;
  auto cache = Cache::open();
  if (!cache) return std::unexpected(cache.error());
  PullOptions options;
  options.revision = args.revision;
  options.allow = args.allow;
  options.ignore = args.ignore;
  auto snapshot = cache->cached(args.ref, options);  // holds its lease while we export
  if (!snapshot) {
    Error e = snapshot.error();
    if (e.code == ErrorCode::kNotCached) e.message += "; run `modelcache pull " + args.ref + "` first";
    return std::unexpected(e);
  }
  auto store = open_store();
  if (!store) return std::unexpected(store.error());
  cache::HfExportRequest request{&*store, *ref, &*snapshot, *dir, std::nullopt};
  if (!args.repo_id.empty()) request.repo_id = args.repo_id;
  return cache::export_to_hf_cache(request);
}
}  // namespace

void add_export(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Write a cached snapshot into a Hugging Face cache folder (no network)");
  cmd->add_option("ref", args->ref, "model reference, already pulled")->required();
  cmd->add_option("--hf-cache", args->hf_cache,
                  "the Hugging Face cache folder (default: HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)")
      ->expected(0, 1)
      ->required();
  cmd->add_option("--repo-id", args->repo_id, "HF repo to write (ORG/NAME): required for non-Hub refs");
  cmd->add_option("--revision", args->revision, "branch, tag or commit (overrides @REV)");
  cmd->add_option("--allow", args->allow, "export only these files (repeatable)");
  cmd->add_option("--ignore", args->ignore, "leave these files out (repeatable)");
  cmd->add_flag("--json", args->json, "one JSON object");
  cmd->callback([args] {
    auto r = run_export(*args);
    if (!r) {
      exit_status() = report_error(r.error());
      return;
    }
    if (args->json) {
      nlohmann::json out{{"repo_dir", r->repo_dir.string()},   {"snapshot_dir", r->snapshot_dir.string()},
                         {"commit", r->commit},                {"revision", r->revision},
                         {"files", r->files},                  {"bytes", r->bytes},
                         {"blobs_present", r->blobs_present},  {"hardlinks", r->hardlinks},
                         {"reflinks", r->reflinks},            {"copies", r->copies},
                         {"bytes_duplicated", r->bytes_duplicated}};
      std::printf("%s\n", out.dump().c_str());
      return;
    }
    std::printf("%s\n", r->snapshot_dir.c_str());
    std::printf("export: %zu file(s), %s; blobs: %zu hardlinked, %zu reflinked, %zu copied, %zu already there; "
                "%s duplicated\n",
                r->files, util::format_bytes(r->bytes).c_str(), r->hardlinks, r->reflinks, r->copies,
                r->blobs_present, util::format_bytes(r->bytes_duplicated).c_str());
  });
}

}  // namespace modelcache::cli
