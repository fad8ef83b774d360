// modelcache pull REF [--revision R] [--allow G]... [--ignore G]... [--token T] [--secret NAME]
//                     [--package auto|ID [--backend B]... [--quantization Q]... [--batch-size N]]
//                     [--offline] [--json] [--quiet]
// Last line of stdout: the snapshot directory. With --json: one JSON object.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/package_flags.hpp"
#include "cli/progress_bar.hpp"
#include "modelcache/cache.hpp"

namespace modelcache::cli {

namespace {

struct PullArgs {
  std::string ref;
  std::string revision;
  std::vector<std::string> allow;
  std::vector<std::string> ignore;
  std::string token;
  std::string secret;
  std::string package;
  PackageFlags package_flags;
  bool offline = false;
  bool json = false;
  bool quiet = false;
};

nlohmann::json to_json(const Snapshot& s) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : s.files) files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  return {{"path", s.path.string()},   {"model", s.model},
          {"snapshot", s.snapshot_id}, {"revision", s.revision},
          {"files", files},            {"bytes_total", s.bytes_total},
          {"bytes_downloaded", s.bytes_downloaded}, {"seconds", s.seconds},
          {"package", s.package}};
}

int run_pull(const PullArgs& args) {
  auto cache = Cache::open();
  if (!cache) return report_error(cache.error());
  PullOptions options;
  options.revision = args.revision;
  options.allow = args.allow;
  options.ignore = args.ignore;
  if (auto s = apply_credentials(args.ref, args.token, args.secret, options); !s) return report_error(s.error());
  options.package = args.package;
  options.package_request = to_request(args.package_flags);
  bool filters = !args.package_flags.backends.empty() || !args.package_flags.quantizations.empty() ||
                 args.package_flags.batch_size;
  if (filters && args.package != "auto") {
    return report_error(Error{ErrorCode::kInvalidArgument,
                              "--backend, --quantization and --batch-size need --package auto"});
  }
  if (args.offline) options.network = NetworkMode::kOffline;
  auto bar = std::make_unique<ProgressBar>(args.quiet || args.json ? ProgressBar::Mode::kOff
                                                                   : ProgressBar::Mode::kAuto);
  options.on_progress = [&bar](const Progress& p) { bar->update(p); };
  auto snapshot = cache->pull(args.ref, options);
  bar.reset();
  if (!snapshot) return report_error(snapshot.error());
  if (args.json) {
    std::printf("%s\n", to_json(*snapshot).dump().c_str());
  } else {
    std::printf("%s\n", snapshot->path.c_str());
  }
  return 0;
}

}  // namespace

void add_pull(CLI::App& app) {
  auto args = std::make_shared<PullArgs>();
  CLI::App* cmd = app.add_subcommand("pull", "Fetch a model into the cache and print its snapshot path");
  cmd->add_option("ref", args->ref, "hf://ORG/NAME[@REV], hf://datasets/ORG/NAME, https://..., or a path")
      ->required();
  cmd->add_option("--revision", args->revision, "branch, tag or commit (overrides @REV)");
  cmd->add_option("--allow", args->allow, "only files matching this glob (repeatable)");
  cmd->add_option("--ignore", args->ignore, "skip files matching this glob (repeatable; wins over --allow)");
  cmd->add_option("--token", args->token, "Hugging Face token (default: HF_TOKEN)");
  cmd->add_option("--secret", args->secret,
                  "name of a secret holding the origin's credential (MODELCACHE_SECRET_<NAME>, "
                  "TRUSS_SECRET_<name>, or MODELCACHE_SECRETS_DIR/<name>)");
  cmd->add_option("--package", args->package,
                  "auto: only the files of the package that fits this machine (doc/PACKAGES.md); "
                  "ID: that package");
  add_package_filter_flags(*cmd, args->package_flags);
  cmd->add_flag("--offline", args->offline, "never use the network; fail naming what is missing");
  cmd->add_flag("--json", args->json, "print one JSON object instead of the path");
  cmd->add_flag("-q,--quiet", args->quiet, "no progress bar");
  cmd->callback([args] { exit_status() = run_pull(*args); });
}

}  // namespace modelcache::cli
