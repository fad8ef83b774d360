// modelcache purge --models | --resolution | --all
#include <memory>

#include "cli/commands.hpp"
#include "cli/manage.hpp"

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
                    "resolution-cache/ (cached ref resolutions): the next pull resolves again");
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
    auto store = open_store();
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
    print_report("purge", *report, args->json);
    if (!report->skipped.empty()) exit_status() = 1;
  });
}

}  // namespace modelcache::cli
