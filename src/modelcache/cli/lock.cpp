// modelcache lock -c CONFIG [-o LOCKFILE] [--offline] [--quiet]
// Resolves every entry of a Truss config.yaml to an immutable id (Hub commit,
// bucket snapshot id) and writes a lock file atomically; default name: CONFIG with
// ".lock" appended (config.yaml -> config.yaml.lock). Entries are fetched into the
// cache (not mounted) so that the lock records the sha256 of every file, and a
// following `prefetch --lock` on the same machine is warm.
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "deploy/runner.hpp"
#include "util/fs.hpp"

namespace modelcache::cli {

namespace {

struct LockArgs {
  std::string config;
  std::string output;
  bool offline = false;
  bool quiet = false;
};

int run_lock(const LockArgs& args) {
  auto config = deploy::load_truss_config(args.config);
  if (!config) return report_error(config.error());
  deploy::RunOptions options;
  options.policy = deploy::MountPolicy::kCacheOnly;
  if (args.offline) options.network = NetworkMode::kOffline;
  auto outcomes = deploy::run_entries(*config, options);

  deploy::PinFile pins;
  pins.config = std::filesystem::path(args.config).filename().string();
  pins.created_at = util::unix_now();
  int failures = 0;
  for (const auto& o : outcomes) {
    if (o.error) {
      ++failures;
      report_error(*o.error);
      continue;
    }
    auto pin = deploy::pin_entry(*o.entry, *o.snapshot);
    if (!pin) {
      ++failures;
      report_error(Error{pin.error().code, o.entry->label() + ": " + pin.error().message});
      continue;
    }
    pins.entries.push_back(std::move(*pin));
  }
  if (failures > 0) {
    std::fprintf(stderr, "modelcache: error: %d of %zu entries failed; no lock file written\n", failures,
                 outcomes.size());
    return 1;
  }
  const std::string output = args.output.empty() ? args.config + ".lock" : args.output;
  if (auto ok = deploy::write_pin_file(output, pins); !ok) return report_error(ok.error());
  if (!args.quiet) {
    for (const auto& p : pins.entries) std::printf("%s %s -> %s\n", p.entry.c_str(), p.source.c_str(), p.pinned.c_str());
  }
  std::printf("%s\n", output.c_str());
  return 0;
}

}  // namespace

void add_lock(CLI::App& app) {
  auto args = std::make_shared<LockArgs>();
  CLI::App* cmd = app.add_subcommand(
      "lock", "Pin every entry of a Truss config.yaml to an immutable id and write a lock file");
  cmd->add_option("-c,--config", args->config, "Truss config.yaml")->required();
  cmd->add_option("-o,--output", args->output, "lock file to write (default: CONFIG.lock)");
  cmd->add_flag("--offline", args->offline, "never use the network (pins what the cache holds)");
  cmd->add_flag("-q,--quiet", args->quiet, "print only the lock file path");
  cmd->callback([args] { exit_status() = run_lock(*args); });
}

}  // namespace modelcache::cli
