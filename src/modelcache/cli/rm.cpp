// modelcache rm REF | REF@REV: remove a whole model, or one snapshot (REV is a
// revision with a ref, a snapshot id, or a unique prefix of one of >= 7 chars).
// There is no --force: a lease means a process is reading those files right now;
// the snapshot is kept, named on stderr, and the exit status is 1.
#include <memory>

#include "cli/commands.hpp"
#include "cli/manage.hpp"
#include "cache/remove_ref.hpp"

namespace modelcache::cli {

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
      auto store = open_store();
      if (!store) return std::unexpected(store.error());
      return remove_ref(*store, args->ref);
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
