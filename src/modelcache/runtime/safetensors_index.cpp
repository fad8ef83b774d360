#include "runtime/safetensors_index.hpp"

#include <fmt/format.h>

#include <set>

#include "runtime/strict_json.hpp"
#include "util/path_check.hpp"
#include "util/strings.hpp"

namespace modelcache::runtime {

Result<ShardIndex> parse_index(std::string_view text, std::string_view label) {
  auto doc = parse_strict_json(text, label);
  if (!doc) return std::unexpected(doc.error());
  auto bad = [&](std::string what) {
    return fail(ErrorCode::kIntegrity, fmt::format("{}: {}", label, what));
  };
  if (!doc->is_object() || !doc->contains("weight_map") || !(*doc)["weight_map"].is_object()) {
    return bad("must be a JSON object with a \"weight_map\" object");
  }
  ShardIndex index;
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : (*doc)["weight_map"].items()) {
    if (!shard.is_string()) {
      return bad(fmt::format("weight_map: tensor '{}': the shard must be a file name string",
                             util::printable(tensor)));
    }
    auto name = shard.get<std::string>();
    // A plain name in the index's own folder: the index must not reach elsewhere.
    if (name.find('/') != std::string::npos || !util::validate_origin_path(name)) {
      return bad(fmt::format(
          "weight_map: tensor '{}': shard '{}' is not a plain file name next to the index",
          util::printable(tensor), util::printable(name)));
    }
    shards.insert(name);
    index.weight_map.emplace(tensor, std::move(name));
  }
  if (index.weight_map.empty()) return bad("weight_map is empty");
  index.shards.assign(shards.begin(), shards.end());
  return index;
}

}  // namespace modelcache::runtime
