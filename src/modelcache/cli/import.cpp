// modelcache import --hf-cache [DIR] [REPO...] [--json]
// Adopts the snapshots of a Hugging Face cache folder into the store, verifying
// every blob against its name, without the network (cache/hf_import.hpp).
// Exit status 1 when anything was skipped (each named on stderr).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cache/hf_import.hpp"
#include "cli/commands.hpp"
#include "cli/manage.hpp"
#include "core/config.hpp"
#include "util/strings.hpp"

namespace modelcache::cli {

namespace {
struct ImportArgs {
  std::string hf_cache;
  std::vector<std::string> repos;
  bool json = false;
};
}  // namespace

void add_import(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand("import", "Adopt the snapshots of a Hugging Face cache folder (no network)");
  cmd->add_option("repos", args->repos, "only these repos: ORG/NAME or datasets/ORG/NAME (default: all)");
  cmd->add_option("--hf-cache", args->hf_cache,
                  "the Hugging Face cache folder (default: HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)")
      ->expected(0, 1)
      ->required();
  cmd->add_flag("--json", args->json, "one JSON object");
  cmd->callback([args] {
    auto run = [&]() -> Result<cache::HfImportReport> {
      auto dir = core::resolve_hf_cache_dir(args->hf_cache);
      if (!dir) return std::unexpected(dir.error());
      auto store = open_store();
      if (!store) return std::unexpected(store.error());
      return cache::import_from_hf_cache(cache::HfImportRequest{&*store, *dir, args->repos});
    };
    auto r = run();
    if (!r) {
      exit_status() = report_error(r.error());
      return;
    }
    for (const auto& w : r->warnings) std::fprintf(stderr, "modelcache: warning: %s\n", w.c_str());
    if (args->json) {
      nlohmann::json out{{"repos", r->repos},         {"snapshots", r->snapshots},
                         {"snapshots_skipped", r->snapshots_skipped},
                         {"files", r->files},         {"blobs_present", r->blobs_present},
                         {"hardlinks", r->hardlinks}, {"reflinks", r->reflinks},
                         {"copies", r->copies},       {"bytes_linked", r->bytes_linked},
                         {"bytes_copied", r->bytes_copied}, {"refs", r->refs},
                         {"warnings", r->warnings}};
      std::printf("%s\n", out.dump().c_str());
    } else {
      std::printf("import: %zu repo(s), %zu snapshot(s) imported, %zu skipped; %zu file(s); blobs: %zu hardlinked, "
                  "%zu reflinked (%s shared), %zu copied (%s), %zu already cached; %zu ref(s)\n",
                  r->repos, r->snapshots, r->snapshots_skipped, r->files, r->hardlinks, r->reflinks,
                  util::format_bytes(r->bytes_linked).c_str(), r->copies, util::format_bytes(r->bytes_copied).c_str(),
                  r->blobs_present, r->refs);
    }
    if (!r->warnings.empty()) exit_status() = 1;
  });
}

}  // namespace modelcache::cli
