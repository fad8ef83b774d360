// modelcache purge --models | --resolution | --all
#include <memory>

#include "cli/commands.hpp"
#include "cli/manage.hpp"
#include "core/config.hpp"
#include "package/decision_cache.hpp"

namespace modelcache::cli {

void add_purge(CLI::App& app) {
  struct Args {
    bool models = false, resolution = false, all = false, json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("purge", "Empty the cache (snapshots in use are kept)");
  auto* m = cmd->add_flag("--models", args->models, "every snapshot and blob");
  auto* r =
      cmd->add_flag("--resolution", args->resolution,
                    "package decisions (resolution-cache/, or MODELCACHE_RESOLUTION_CACHE_DIR): "
                    "the next pull --package auto negotiates again");
  auto* a = cmd->add_flag("--all", args->all, "both, and every partial download nobody holds");
  m->excludes(r)->excludes(a);
  r->excludes(a);
  cmd->add_flag("--json", args->json, "one JSON object");
  cmd->callback([args] {
    if (!args->models && !args->resolution && !args->all) {
      exit_status() = report_error(
          Error{ErrorCode::kInvalidArgument, "purge needs one of --models, --resolution, --all"});
      return;
    }
    auto config = core::Config::from_env();
    if (!config) {
      exit_status() = report_error(config.error());
      return;
    }
    auto store = open_store(*config);
    if (!store) {
      exit_status() = report_error(store.error());
      return;
    }
    auto what = args->all      ? store::PurgeWhat::kAll
                : args->models ? store::PurgeWhat::kModels
                               : store::PurgeWhat::kResolution;
    auto report = store::purge(*store, what);
    if (!report) {
      exit_status() = report_error(report.error());
      return;
    }
    if (what != store::PurgeWhat::kModels) {
      // A moved decision cache: its entries only (the folder may hold other files).
      if (!config->packages.resolution_cache_dir.empty()) {
        auto removed = package::purge_decisions(config->packages.resolution_cache_dir);
        if (!removed) {
          exit_status() = report_error(removed.error());
          return;
        }
        report->dirs_removed += *removed > 0 ? 1 : 0;
      }
    }
    print_report("purge", *report, args->json);
    if (!report->skipped.empty()) exit_status() = 1;
  });
}

}  // namespace modelcache::cli
