#include "store/manifest.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace modelcache::store {

using nlohmann::json;

const ManifestEntry* Manifest::find(std::string_view path) const {
  auto it = std::lower_bound(files.begin(), files.end(), path,
                             [](const ManifestEntry& e, std::string_view p) { return e.path < p; });
  if (it == files.end() || it->path != path) return nullptr;
  return &*it;
}

std::uint64_t Manifest::total_bytes() const {
  std::uint64_t sum = 0;
  for (const auto& f : files) {
    if (!f.sha256.empty()) sum += f.size;
  }
  return sum;
}

std::size_t Manifest::present_count() const {
  return static_cast<std::size_t>(
      std::count_if(files.begin(), files.end(), [](const ManifestEntry& f) { return !f.sha256.empty(); }));
}

std::string Manifest::to_json() const {
  json j;
  j["format"] = format;
  j["model"] = model;
  j["snapshot"] = snapshot_id;
  j["origin"] = origin;
  j["updated_at"] = updated_at;
  json arr = json::array();
  for (const auto& f : files) {
    json e{{"path", f.path}, {"size", f.size}};
    if (!f.sha256.empty()) e["sha256"] = f.sha256;
    if (f.origin_digest) e["origin_digest"] = f.origin_digest->to_string();
    if (!f.etag.empty()) e["etag"] = f.etag;
    if (!f.last_modified.empty()) e["last_modified"] = f.last_modified;
    arr.push_back(std::move(e));
  }
  j["files"] = std::move(arr);
  return j.dump(1) + "\n";
}

Result<Manifest> Manifest::from_json(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kIo, "manifest is not valid JSON");
  try {
    Manifest m;
    m.format = j.at("format").get<int>();
    if (m.format != 1) {
      return fail(ErrorCode::kIo, "manifest format " + std::to_string(m.format) + " is not supported");
    }
    m.model = j.at("model").get<std::string>();
    m.snapshot_id = j.at("snapshot").get<std::string>();
    m.origin = j.value("origin", "");
    m.updated_at = j.value("updated_at", std::int64_t{0});
    for (const auto& e : j.at("files")) {
      ManifestEntry f;
      f.path = e.at("path").get<std::string>();
      f.size = e.at("size").get<std::uint64_t>();
      f.sha256 = e.value("sha256", "");
      if (e.contains("origin_digest")) {
        f.origin_digest = core::Digest::parse(e.at("origin_digest").get<std::string>());
      }
      f.etag = e.value("etag", "");
      f.last_modified = e.value("last_modified", "");
      m.files.push_back(std::move(f));
    }
    std::sort(m.files.begin(), m.files.end(),
              [](const ManifestEntry& a, const ManifestEntry& b) { return a.path < b.path; });
    return m;
  } catch (const json::exception& e) {
    return fail(ErrorCode::kIo, std::string("manifest is malformed: ") + e.what());
  }
}

}  // namespace modelcache::store
