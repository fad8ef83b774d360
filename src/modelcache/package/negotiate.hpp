// Filtering and ranking of packages (doc/PACKAGES.md, "Negotiation"): the code
// follows the documented order literally, rule by rule.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "modelcache/package.hpp"
#include "package/package_manifest.hpp"

namespace modelcache::package {

// Used when the caller names no backend / quantization; others rank after these, by name.
const std::vector<std::string>& default_backend_order();
const std::vector<std::string>& default_quantization_order();

struct Negotiation {
  std::vector<PackageCandidate> candidates;  // kept by rank, then dropped in manifest order
  std::optional<std::size_t> winner;         // index into the set's packages
};

Negotiation negotiate(const PackageSet& set, const PackageRequest& request, const MachineInfo& machine);

// "onnx-fp32: quantization fp32 not requested; trt: needs a CUDA GPU, none found"
std::string describe_dropped(const Negotiation& n);

// Lower-cased, de-duplicated request lists; errors for a bad name.
Result<PackageRequest> normalize_request(const PackageRequest& request);

}  // namespace modelcache::package
