#include "package/decision_cache.hpp"

#include <nlohmann/json.hpp>

#include "package/package_manifest.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/hasher.hpp"

namespace modelcache::package {

namespace {

using nlohmann::json;

constexpr int kEntryFormat = 1;

json inputs_json(const DecisionInputs& in) {
  // nlohmann's json object is a std::map: keys come out sorted.
  json j;
  j["model"] = in.model;
  j["revision"] = in.revision;
  j["backends"] = in.request.backends;
  j["quantizations"] = in.request.quantizations;
  j["batch_size"] = in.request.batch_size ? json(*in.request.batch_size) : json(nullptr);
  j["cpu_features"] = in.machine.cpu_features;
  j["gpus"] = in.machine.gpus;
  j["package_format"] = kManifestFormat;
  j["entry_format"] = kEntryFormat;
  // Domain-separated so the stored hash is not the plain sha256 of the token.
  j["credential_sha256"] =
      in.credential ? json(util::sha256_hex("modelcache-resolution-credential\n" + *in.credential)) : json(nullptr);
  return j;
}

}  // namespace

std::string canonical_inputs(const DecisionInputs& inputs) { return inputs_json(inputs).dump(); }

std::string decision_key(const DecisionInputs& inputs) { return util::sha256_hex(canonical_inputs(inputs)); }

std::filesystem::path DecisionCache::entry_path(const DecisionInputs& inputs) const {
  return dir_ / (decision_key(inputs) + ".json");
}

std::optional<Decision> DecisionCache::read(const DecisionInputs& inputs) const {
  auto text = util::read_file(entry_path(inputs));
  if (!text) return std::nullopt;
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    if (j.at("format").get<int>() != kEntryFormat || j.at("inputs") != inputs_json(inputs)) return std::nullopt;
    Decision d;
    d.package = j.at("package").get<std::string>();
    d.snapshot_id = j.at("snapshot").get<std::string>();
    d.files = j.at("files").get<std::vector<std::string>>();
    d.created_at = j.at("created_at").get<std::int64_t>();
    auto age = util::unix_now() - d.created_at;
    if (age < 0 || age >= ttl_.count() || d.package.empty() || d.snapshot_id.empty()) return std::nullopt;
    return d;
  } catch (const json::exception&) {  // a field of the wrong type: a malformed entry is a miss
    return std::nullopt;
  }
}

Status DecisionCache::write(const DecisionInputs& inputs, const Decision& decision) const {
  if (auto s = util::make_dirs(dir_); !s) return s;
  json j{{"format", kEntryFormat},         {"inputs", inputs_json(inputs)},
         {"package", decision.package},    {"snapshot", decision.snapshot_id},
         {"files", decision.files},        {"created_at", decision.created_at}};
  return util::write_file_atomic(entry_path(inputs), j.dump(2) + "\n");
}

Result<std::size_t> purge_decisions(const std::filesystem::path& dir) {
  std::size_t removed = 0;
  for (const auto& name : util::list_dir(dir)) {
    bool entry = name.size() == 64 + 5 && name.ends_with(".json") && util::is_hex(name.substr(0, 64), 64);
    bool temp = name.size() > 64 + 5 && util::is_hex(name.substr(0, 64), 64) &&
                name.substr(64).starts_with(".json.tmp.");
    if (!entry && !temp) continue;
    if (auto s = util::remove_file(dir / name); !s) return std::unexpected(s.error());
    ++removed;
  }
  return removed;
}

}  // namespace modelcache::package
