// modelcache path REF [--revision R] [--allow G]... [--ignore G]...
// Prints the snapshot path when the selection is fully cached; never uses the network.
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "modelcache/cache.hpp"

namespace modelcache::cli {

namespace {
struct PathArgs {
  std::string ref;
  std::string revision;
  std::vector<std::string> allow;
  std::vector<std::string> ignore;
};
}  // namespace

void add_path(CLI::App& app) {
  auto args = std::make_shared<PathArgs>();
  CLI::App* cmd = app.add_subcommand("path", "Print the snapshot path of a fully cached model (no network)");
  cmd->add_option("ref", args->ref, "model reference")->required();
  cmd->add_option("--revision", args->revision, "branch, tag or commit");
  cmd->add_option("--allow", args->allow, "the selection that must be cached (repeatable)");
  cmd->add_option("--ignore", args->ignore, "files that need not be cached (repeatable)");
  cmd->callback([args] {
    auto cache = Cache::open();
    if (!cache) {
      exit_status() = report_error(cache.error());
      return;
    }
    PullOptions options;
    options.revision = args->revision;
    options.allow = args->allow;
    options.ignore = args->ignore;
    auto snapshot = cache->cached(args->ref, options);
    if (!snapshot) {
      exit_status() = report_error(snapshot.error());
      return;
    }
    std::printf("%s\n", snapshot->path.c_str());
  });
}

}  // namespace modelcache::cli
