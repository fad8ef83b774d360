// modelcache-packages.json: parsing and strict validation (doc/PACKAGES.md).
// Every error is one line naming the field, e.g. "packages[1].batch_size.min".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"

namespace modelcache::package {

inline constexpr int kManifestFormat = 1;

struct BatchBounds {
  std::uint32_t min = 1;
  std::uint32_t max = UINT32_MAX;
  bool is_static = false;  // min == max, declared as {"static": N}
};

struct CudaNeeds {
  int min_cc = 0;                // compute capability as major*10+minor; 0 = any
  std::optional<int> max_cc;     // inclusive
};

struct Package {
  std::string id;
  std::string backend;       // lowercase
  std::string quantization;  // lowercase; may be empty
  std::vector<std::string> files;  // the listed paths its globs matched (sorted, unique)
  std::optional<BatchBounds> batch;  // absent = any batch size
  std::optional<CudaNeeds> cuda;     // absent = no GPU needed
  std::vector<std::string> cpu_features;
};

struct PackageSet {
  bool has_manifest = false;
  std::vector<std::string> shared_files;  // listed paths (manifest included when present)
  std::vector<Package> packages;          // manifest order
};

// Parses `text` against the paths the origin lists for the snapshot. `what`
// prefixes errors (e.g. "modelcache-packages.json of hf://org/m").
Result<PackageSet> parse_manifest(std::string_view text, const std::vector<std::string>& listed,
                                  std::string_view what);

// A model without a manifest: one package "default" holding every listed file.
PackageSet implicit_package(const std::vector<std::string>& listed);

// "8.6" -> 86; nullopt when not "MAJOR.MINOR" with a one-digit minor.
std::optional<int> parse_compute_capability(std::string_view text);
std::string format_compute_capability(int cc);

}  // namespace modelcache::package
