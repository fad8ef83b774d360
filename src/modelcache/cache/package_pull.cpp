#include "cache/package_pull.hpp"

#include <algorithm>
#include <set>

#include "package/decision_cache.hpp"
#include "package/machine_probe.hpp"
#include "package/negotiate.hpp"
#include "package/package_manifest.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace modelcache::cache {

namespace {

bool is_auto(const PullOptions& options) { return options.package == "auto"; }

std::string package_ids(const package::PackageSet& set) {
  std::string out;
  for (const auto& p : set.packages) out += (out.empty() ? "" : ", ") + p.id;
  return out;
}

SelectionRules package_rules(const PullOptions& options, std::vector<std::string> files) {
  std::sort(files.begin(), files.end());
  return SelectionRules{options.allow, options.ignore, std::move(files), EmptySelection::kError};
}

// Every parameter that can change the outcome (package/decision_cache.hpp).
Result<package::DecisionInputs> decision_inputs(const core::ModelRef& ref, const PullOptions& options,
                                                const core::Config& config) {
  auto request = package::normalize_request(options.package_request);
  if (!request) return std::unexpected(request.error());
  auto machine = package::probe_machine({config.packages.fake_gpu, config.packages.fake_cpu_features});
  if (!machine) return std::unexpected(machine.error());
  package::DecisionInputs in{ref.id(), ref.revision, std::move(*request), std::move(*machine), std::nullopt};
  // The credential can change what the origin shows (a gated or private repo).
  auto token = options.token ? options.token : config.hf_token;
  if (ref.kind == core::RefKind::kHuggingFace && token) in.credential = "token:" + *token;
  if (options.secret) in.credential = in.credential.value_or("") + "secret:" + *options.secret;
  return in;
}

Result<PackageResolution> negotiate_for(const core::ModelRef& ref, const PullOptions& options,
                                        const store::Store& store, const PackagePullHooks& hooks,
                                        const package::DecisionInputs& inputs) {
  // The manifest comes through the normal pull path: verified and cached like any
  // file. A model without one selects nothing here, and is one package.
  SelectionRules manifest_only{{}, {}, {kPackageManifestName}, EmptySelection::kAllowed};
  auto snap = hooks.pull(manifest_only);
  if (!snap) return std::unexpected(snap.error());
  auto listing = store.read_manifest(ref.folder_name(), snap->snapshot_id);
  if (!listing) return std::unexpected(listing.error());
  if (!*listing) return fail(ErrorCode::kNotCached, ref.display() + ": snapshot " + snap->snapshot_id + " vanished; pull again");
  std::vector<std::string> listed;
  for (const auto& f : (*listing)->files) listed.push_back(f.path);

  PackageResolution res;
  res.model = ref.id();
  res.revision = ref.revision;
  res.snapshot_id = snap->snapshot_id;
  res.machine = inputs.machine;
  package::PackageSet set;
  if (std::find(listed.begin(), listed.end(), kPackageManifestName) != listed.end()) {
    auto text = util::read_file(snap->path / kPackageManifestName);
    if (!text) return std::unexpected(text.error());
    auto parsed = package::parse_manifest(*text, listed, std::string(kPackageManifestName) + " of " + ref.display());
    if (!parsed) return std::unexpected(parsed.error());
    set = std::move(*parsed);
  } else {
    set = package::implicit_package(listed);
  }
  res.has_manifest = set.has_manifest;

  auto neg = package::negotiate(set, inputs.request, inputs.machine);
  res.candidates = neg.candidates;
  const package::Package* chosen = nullptr;
  if (!options.package.empty() && !is_auto(options)) {
    // An id names the package outright: no filter, the caller knows (e.g. fetching
    // a TensorRT engine on a build machine without a GPU).
    for (const auto& p : set.packages) chosen = p.id == options.package ? &p : chosen;
    if (!chosen) {
      return fail(ErrorCode::kEntryNotFound, ref.display() + " has no package '" + options.package +
                                                 "' (its packages: " + package_ids(set) + ")");
    }
  } else if (neg.winner) {
    chosen = &set.packages[*neg.winner];
  } else {
    return fail(ErrorCode::kEntryNotFound, "no package of " + ref.display() +
                                               " fits this machine and request: " + package::describe_dropped(neg) +
                                               " (`modelcache resolve --explain` shows the machine facts)");
  }
  res.chosen = chosen->id;
  std::set<std::string> files(chosen->files.begin(), chosen->files.end());
  files.insert(set.shared_files.begin(), set.shared_files.end());
  res.files.assign(files.begin(), files.end());
  return res;
}

}  // namespace

Result<PackageResolution> resolve_package(const core::ModelRef& ref, const PullOptions& options,
                                          const core::Config& config, const store::Store& store,
                                          const PackagePullHooks& hooks) {
  auto inputs = decision_inputs(ref, options, config);
  if (!inputs) return std::unexpected(inputs.error());
  return negotiate_for(ref, options, store, hooks, *inputs);
}

Result<Snapshot> pull_package(const core::ModelRef& ref, const PullOptions& options, const core::Config& config,
                              const store::Store& store, const PackagePullHooks& hooks) {
  auto inputs = decision_inputs(ref, options, config);
  if (!inputs) return std::unexpected(inputs.error());
  std::filesystem::path dir = config.packages.resolution_cache_dir.empty() ? store.layout().resolution_cache_dir()
                                                              : config.packages.resolution_cache_dir;
  std::optional<package::DecisionCache> decisions;
  if (is_auto(options) && config.packages.mode == core::ResolutionCacheMode::kOn) {
    decisions.emplace(dir, config.packages.resolution_ttl);
  }
  if (decisions) {
    // Warm path: a live decision whose snapshot the ref still names and whose files
    // are all in the store: no origin, no negotiation.
    if (auto d = decisions->read(*inputs)) {
      auto snap = hooks.warm(package_rules(options, d->files), d->snapshot_id);
      if (snap && snap->snapshot_id == d->snapshot_id) {
        snap->package = d->package;
        return snap;
      }
    }
  }
  // The ref may move between the manifest's snapshot and the files' pull: then
  // negotiate again on the new snapshot, once.
  for (int attempt = 0;; ++attempt) {
    auto res = negotiate_for(ref, options, store, hooks, *inputs);
    if (!res) return std::unexpected(res.error());
    auto snap = hooks.pull(package_rules(options, res->files));
    if (!snap) return snap;
    if (snap->snapshot_id != res->snapshot_id) {
      if (attempt == 0) continue;
      return fail(ErrorCode::kProtocol, ref.display() + " changed twice while its package was pulled; pull again");
    }
    snap->package = res->chosen;
    if (decisions) {
      package::Decision d{res->chosen, res->snapshot_id, res->files, util::unix_now()};
      // A decision is an optimisation: failing to record it does not fail the pull.
      if (auto s = decisions->write(*inputs, d); !s) {
        util::log(util::LogLevel::kWarn, "resolution cache: {}", s.error().message);
      }
    }
    return snap;
  }
}

}  // namespace modelcache::cache
