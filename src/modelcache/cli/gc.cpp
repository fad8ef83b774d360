// modelcache gc --max-size SIZE [--json]: remove least-recently-used snapshots
// until the blobs fit in SIZE, then every blob no snapshot uses.
#include <memory>

#include "cli/commands.hpp"
#include "cli/manage.hpp"
#include "util/strings.hpp"

namespace modelcache::cli {

void add_gc(CLI::App& app) {
  struct Args {
    std::string max_size;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd =
      app.add_subcommand("gc", "Remove least-recently-used snapshots until the cache fits");
  cmd->add_option("--max-size", args->max_size, "budget for blobs, e.g. 500MiB, 10GiB, 0")
      ->required();
  cmd->add_flag("--json", args->json, "one JSON object");
  cmd->callback([args] {
    auto max = util::parse_size(args->max_size);
    if (!max) {
      exit_status() = report_error(
          Error{ErrorCode::kInvalidArgument,
                "--max-size '" + args->max_size + "' is not a size (e.g. 500MiB, 10GiB)"});
      return;
    }
    auto store = open_store();
    if (!store) {
      exit_status() = report_error(store.error());
      return;
    }
    auto report = store::gc(*store, *max);
    if (!report) {
      exit_status() = report_error(report.error());
      return;
    }
    print_report("gc", *report, args->json);
  });
}

}  // namespace modelcache::cli
