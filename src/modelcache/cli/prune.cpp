// modelcache prune [--tmp-age SECONDS] [--json]: unreferenced blobs, stale
// partial downloads, dangling refs, unpublished snapshot folders, empty models.
#include <chrono>
#include <memory>

#include "cli/commands.hpp"
#include "cli/manage.hpp"

namespace modelcache::cli {

void add_prune(CLI::App& app) {
  struct Args {
    long tmp_age = 3600;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd =
      app.add_subcommand("prune", "Remove what no snapshot uses and stale partial downloads");
  cmd->add_option("--tmp-age", args->tmp_age,
                  "remove partial downloads untouched for this many seconds (default 3600)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", args->json, "one JSON object");
  cmd->callback([args] {
    auto store = open_store();
    if (!store) {
      exit_status() = report_error(store.error());
      return;
    }
    auto report = store::prune(*store, std::chrono::seconds(args->tmp_age));
    if (!report) {
      exit_status() = report_error(report.error());
      return;
    }
    print_report("prune", *report, args->json);
  });
}

}  // namespace modelcache::cli
