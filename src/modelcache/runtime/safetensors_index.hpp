// `model.safetensors.index.json`, the file that names the shards of a sharded
// checkpoint: {"metadata": {...}, "weight_map": {"<tensor>": "<shard file>"}}.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"

namespace modelcache::runtime {

struct ShardIndex {
  std::map<std::string, std::string, std::less<>> weight_map;  // tensor -> shard file name
  std::vector<std::string> shards;                             // distinct shard names, sorted
};

// Strict: duplicate keys, a missing or empty weight_map, non-string shard names
// and shard names that are not a plain file name next to the index (a '/', "..",
// control characters) are one-line kIntegrity errors starting with `label`.
// "metadata" (free-form, e.g. total_size) and other top-level keys are ignored.
Result<ShardIndex> parse_index(std::string_view text, std::string_view label);

}  // namespace modelcache::runtime
