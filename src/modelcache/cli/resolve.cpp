// modelcache resolve REF [--backend B]... [--quantization Q]... [--batch-size N]
//                        [--revision R] [--token T] [--secret NAME] [--offline] [--explain] [--json]
// Prints the package `pull REF --package auto` would fetch (doc/PACKAGES.md);
// --explain adds the machine facts and every candidate, kept (rank) or dropped (why).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/package_flags.hpp"
#include "modelcache/cache.hpp"

namespace modelcache::cli {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out.empty() ? "none" : out;
}

nlohmann::json to_json(const PackageResolution& r) {
  nlohmann::json candidates = nlohmann::json::array();
  for (const auto& c : r.candidates) {
    candidates.push_back({{"id", c.id}, {"backend", c.backend}, {"quantization", c.quantization},
                          {"kept", c.kept}, {"rank", c.rank}, {"reason", c.reason}});
  }
  return {{"model", r.model},
          {"revision", r.revision},
          {"snapshot", r.snapshot_id},
          {"has_manifest", r.has_manifest},
          {"package", r.chosen},
          {"files", r.files},
          {"candidates", candidates},
          {"machine", {{"cpu_features", r.machine.cpu_features}, {"gpus", r.machine.gpus}, {"source", r.machine.source}}}};
}

void print_explain(const PackageResolution& r) {
  std::printf("model: %s%s%s (snapshot %s)\n", r.model.c_str(), r.revision.empty() ? "" : "@", r.revision.c_str(),
              r.snapshot_id.c_str());
  std::printf("machine: cpu features %s; cuda gpus %s (%s)\n", join(r.machine.cpu_features).c_str(),
              join(r.machine.gpus).c_str(), r.machine.source.c_str());
  std::printf("packages: %s\n", r.has_manifest ? kPackageManifestName : "no manifest: one package of every file");
  for (const auto& c : r.candidates) {
    if (c.kept) {
      std::printf("  #%d %s kept: %s\n", c.rank, c.id.c_str(), c.reason.c_str());
    } else {
      std::printf("  -  %s dropped: %s\n", c.id.c_str(), c.reason.c_str());
    }
  }
  std::printf("chosen: %s (%zu files)\n", r.chosen.c_str(), r.files.size());
}

struct ResolveArgs {
  std::string ref;
  PackageFlags package;
  std::string revision, token, secret;
  bool offline = false, explain = false, json = false;
};

int run_resolve(const ResolveArgs& args) {
  auto cache = Cache::open();
  if (!cache) return report_error(cache.error());
  PullOptions options;
  options.revision = args.revision;
  if (auto s = apply_credentials(args.ref, args.token, args.secret, options); !s) return report_error(s.error());
  if (args.offline) options.network = NetworkMode::kOffline;
  options.package_request = to_request(args.package);
  auto r = cache->resolve_package(args.ref, options);
  if (!r) return report_error(r.error());
  if (args.json) {
    std::printf("%s\n", to_json(*r).dump().c_str());
  } else if (args.explain) {
    print_explain(*r);
  } else {
    std::printf("%s\n", r->chosen.c_str());
  }
  return 0;
}

}  // namespace

void add_resolve(CLI::App& app) {
  auto args = std::make_shared<ResolveArgs>();
  CLI::App* cmd = app.add_subcommand("resolve", "Print the package of a model that fits this machine");
  cmd->add_option("ref", args->ref, "hf://ORG/NAME[@REV], s3://..., a path, ...")->required();
  add_package_filter_flags(*cmd, args->package);
  cmd->add_option("--revision", args->revision, "branch, tag or commit (overrides @REV)");
  cmd->add_option("--token", args->token, "Hugging Face token (default: HF_TOKEN)");
  cmd->add_option("--secret", args->secret, "name of a secret holding the origin's credential");
  cmd->add_flag("--offline", args->offline, "never use the network");
  cmd->add_flag("--explain", args->explain, "print the machine facts and every candidate, kept or dropped");
  cmd->add_flag("--json", args->json, "one JSON object (with every candidate)");
  cmd->callback([args] { exit_status() = run_resolve(*args); });
}

}  // namespace modelcache::cli
