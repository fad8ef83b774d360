// Pulls with PullOptions::package (doc/PACKAGES.md): fetch the package manifest
// through the normal pull path, negotiate, then pull only the chosen files; the
// decision cache lets a fresh or pinned ref skip the origin entirely.
#pragma once

#include <functional>
#include <string>

#include "cache/selection.hpp"
#include "core/config.hpp"
#include "core/model_ref.hpp"
#include "modelcache/cache.hpp"
#include "store/store.hpp"

namespace modelcache::cache {

// What the orchestrator lends: its pull (store first, origin when needed), and a
// store-only answer for a snapshot the ref still names while fresh (else an error).
struct PackagePullHooks {
  std::function<Result<Snapshot>(const SelectionRules&)> pull;
  std::function<Result<Snapshot>(const SelectionRules&, const std::string& snapshot_id)> warm;
};

Result<PackageResolution> resolve_package(const core::ModelRef& ref, const PullOptions& options,
                                          const core::Config& config, const store::Store& store,
                                          const PackagePullHooks& hooks);

Result<Snapshot> pull_package(const core::ModelRef& ref, const PullOptions& options, const core::Config& config,
                              const store::Store& store, const PackagePullHooks& hooks);

}  // namespace modelcache::cache
