// modelcache prefetch -c CONFIG [--lock LOCKFILE] [--mount-root DIR] [--copy]
//                     [--offline] [--json] [--quiet]
// Fetches every model_cache / weights entry of a Truss config.yaml in parallel and
// lays each out at its mount; blocks until all are ready. Exit 0 with one line per
// entry ("<entry> -> <mount path>", or the snapshot path for a cache-only entry);
// exit 1 with one stderr line per failed entry, the others staying mounted.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "deploy/runner.hpp"

namespace modelcache::cli {

namespace {

struct PrefetchArgs {
  std::string config;
  std::string lock;
  std::string mount_root;
  bool copy = false;
  bool offline = false;
  bool json = false;
  bool quiet = false;
};

nlohmann::json outcome_json(const deploy::EntryOutcome& o) {
  nlohmann::json j = {{"entry", deploy::entry_key(*o.entry)},
                      {"source", o.entry->source_as_written()},
                      {"ok", !o.error.has_value()}};
  if (o.snapshot) {
    const std::string model = deploy::shown_source(o.snapshot->model);
    j["model"] = model;
    j["snapshot"] = o.snapshot->snapshot_id;
    // The cache names a signed URL's folder after the URL, query included: a
    // credential, so that path is not shown.
    if (model == o.snapshot->model) j["path"] = o.snapshot->path.string();
    j["files"] = o.snapshot->files.size();
    j["bytes_total"] = o.snapshot->bytes_total;
    j["bytes_downloaded"] = o.snapshot->bytes_downloaded;
  }
  j["mount"] = o.mount ? nlohmann::json(o.mount->string()) : nlohmann::json(nullptr);
  if (o.error) j["error"] = o.error->message;
  return j;
}

int run_prefetch(const PrefetchArgs& args) {
  auto config = deploy::load_truss_config(args.config);
  if (!config) return report_error(config.error());
  deploy::RunOptions options;
  options.mount_root = deploy::resolve_mount_root(args.mount_root);
  options.mode = args.copy ? deploy::MountMode::kCopy : deploy::MountMode::kLink;
  if (args.offline) options.network = NetworkMode::kOffline;
  if (auto ok = deploy::check_mounts(*config, options.mount_root); !ok) return report_error(ok.error());
  std::optional<deploy::PinFile> pins;
  if (!args.lock.empty()) {
    auto read = deploy::read_pin_file(args.lock);
    if (!read) return report_error(read.error());
    pins = std::move(*read);
    options.pins = &*pins;
  }
  auto outcomes = deploy::run_entries(*config, options);
  int failures = 0;
  nlohmann::json all = nlohmann::json::array();
  for (const auto& o : outcomes) {
    if (o.error) {
      ++failures;
      report_error(*o.error);
    } else if (!args.json && !args.quiet) {
      const std::string where = o.mount                                          ? o.mount->string()
                                : deploy::shown_source(o.snapshot->model) != o.snapshot->model
                                    ? std::string("cached, not mounted")
                                    : o.snapshot->path.string() + " (cached, not mounted)";
      std::printf("%s -> %s\n", o.entry->label().c_str(), where.c_str());
    }
    if (args.json) all.push_back(outcome_json(o));
  }
  if (args.json) {
    std::printf("%s\n", nlohmann::json({{"ok", failures == 0}, {"entries", all}}).dump().c_str());
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

void add_prefetch(CLI::App& app) {
  auto args = std::make_shared<PrefetchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "prefetch", "Fetch every model_cache/weights entry of a Truss config.yaml and mount it; blocks until all are ready");
  cmd->add_option("-c,--config", args->config, "Truss config.yaml")->required();
  cmd->add_option("--lock", args->lock, "lock file from `modelcache lock`: fetch exactly the pinned snapshots");
  cmd->add_option("--mount-root", args->mount_root,
                  "root for model_cache volume_folder mounts (default: MODELCACHE_MOUNT_ROOT or /app/model_cache)");
  cmd->add_flag("--copy", args->copy, "mount read-only copies instead of links into the cache");
  cmd->add_flag("--offline", args->offline, "never use the network; fail naming what is missing");
  cmd->add_flag("--json", args->json, "print one JSON object with every entry's outcome");
  cmd->add_flag("-q,--quiet", args->quiet, "print nothing on success (errors still go to stderr)");
  cmd->callback([args] { exit_status() = run_prefetch(*args); });
}

}  // namespace modelcache::cli
