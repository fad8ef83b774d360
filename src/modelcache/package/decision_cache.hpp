// The decision cache: $ROOT/resolution-cache/<sha256 of the canonical inputs>.json
// (or MODELCACHE_RESOLUTION_CACHE_DIR). The inputs are every parameter that can
// change the outcome; a token enters only as a hash. Entries are written with
// AtomicFile (rename), so concurrent writers and readers never see half a file;
// expired or malformed entries read as a miss and are replaced by the next write.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "modelcache/error.hpp"
#include "modelcache/package.hpp"

namespace modelcache::package {

struct DecisionInputs {
  std::string model;     // canonical model id
  std::string revision;  // as asked ("main", a tag, a commit; empty for other origins)
  PackageRequest request;  // normalized
  MachineInfo machine;     // its `source` does not enter the key: only the facts do
  std::optional<std::string> credential;  // token or secret value: hashed, never stored
};

// Canonical JSON of the inputs (sorted keys, no whitespace); holds no secret.
std::string canonical_inputs(const DecisionInputs& inputs);
// sha256 hex of canonical_inputs(): the entry's file name.
std::string decision_key(const DecisionInputs& inputs);

struct Decision {
  std::string package;
  std::string snapshot_id;
  std::vector<std::string> files;
  std::int64_t created_at = 0;  // unix seconds
};

class DecisionCache {
 public:
  DecisionCache(std::filesystem::path dir, std::chrono::seconds ttl) : dir_(std::move(dir)), ttl_(ttl) {}

  // A live entry for these inputs, or nullopt (missing, expired, malformed, or
  // written for other inputs).
  std::optional<Decision> read(const DecisionInputs& inputs) const;
  Status write(const DecisionInputs& inputs, const Decision& decision) const;
  std::filesystem::path entry_path(const DecisionInputs& inputs) const;

 private:
  std::filesystem::path dir_;
  std::chrono::seconds ttl_;
};

// Removes the entries (<64 hex>.json) and stale temporaries from `dir`, not the
// folder itself: an overridden location may be shared with other files.
Result<std::size_t> purge_decisions(const std::filesystem::path& dir);

}  // namespace modelcache::package
