#include "deploy/pin_file.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/model_ref.hpp"
#include "net/http_client.hpp"
#include "store/manifest.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"

namespace modelcache::deploy {

namespace {

constexpr const char* kFormat = "modelcache-lock";


}  // namespace

std::string entry_key(const Entry& entry) {
  return fmt::format("{}[{}]", to_string(entry.section), entry.index);
}

Result<const PinnedEntry*> PinFile::find(const Entry& entry) const {
  const std::string key = entry_key(entry);
  for (const auto& e : entries) {
    if (e.entry != key) continue;
    if (e.source != entry.source_as_written() || e.allow != entry.allow || e.ignore != entry.ignore) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("the lock file pins {} for this entry, but the config now asks for {} "
                              "(or other patterns): run modelcache lock -c CONFIG again",
                              e.source, entry.source_as_written()));
    }
    return &e;
  }
  return fail(ErrorCode::kNotFound,
              fmt::format("the lock file has no pin for {}: run modelcache lock -c CONFIG again", key));
}

std::string PinFile::to_json() const {
  nlohmann::json out = {{"format", kFormat}, {"version", version}, {"config", config},
                        {"created_at", created_at}};
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : entries) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : e.files) {
      nlohmann::json jf = {{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}};
      if (!f.etag.empty()) jf["etag"] = f.etag;
      if (!f.origin_digest.empty()) jf["origin_digest"] = f.origin_digest;
      files.push_back(std::move(jf));
    }
    list.push_back({{"entry", e.entry},
                    {"source", e.source},
                    {"ref", e.ref},
                    {"pinned", e.pinned},
                    {"snapshot", e.snapshot},
                    {"allow", e.allow},
                    {"ignore", e.ignore},
                    {"files", std::move(files)}});
  }
  out["entries"] = std::move(list);
  return out.dump(2) + "\n";
}

Result<PinFile> PinFile::from_json(std::string_view text, const std::filesystem::path& file) {
  const std::string where = file.empty() ? std::string("lock file") : file.string();
  auto bad = [&](std::string_view what) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: {} (write it again with modelcache lock -c CONFIG)", where, what));
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (j.value("format", std::string()) != kFormat) return bad("not a modelcache lock file");
  if (!j.contains("version") || !j["version"].is_number_integer()) return bad("no version");
  PinFile pins;
  pins.version = j["version"].get<int>();
  if (pins.version != 1) return bad(fmt::format("version {} is not supported (this modelcache reads 1)", pins.version));
  if (j.contains("config") && j["config"].is_string()) pins.config = j["config"].get<std::string>();
  if (j.contains("created_at") && j["created_at"].is_number_integer()) pins.created_at = j["created_at"].get<std::int64_t>();
  if (!j.contains("entries") || !j["entries"].is_array()) return bad("no entries list");
  auto strings = [](const nlohmann::json& v, std::vector<std::string>& out) {
    if (!v.is_array()) return false;
    for (const auto& s : v) {
      if (!s.is_string()) return false;
      out.push_back(s.get<std::string>());
    }
    return true;
  };
  for (const auto& je : j["entries"]) {
    PinnedEntry e;
    for (auto [key, field] : {std::pair{"entry", &e.entry}, std::pair{"source", &e.source},
                              std::pair{"ref", &e.ref}, std::pair{"pinned", &e.pinned},
                              std::pair{"snapshot", &e.snapshot}}) {
      if (!je.is_object() || !je.contains(key) || !je[key].is_string()) {
        return bad(fmt::format("an entry has no string '{}'", key));
      }
      *field = je[key].get<std::string>();
    }
    if ((je.contains("allow") && !strings(je["allow"], e.allow)) ||
        (je.contains("ignore") && !strings(je["ignore"], e.ignore))) {
      return bad(fmt::format("{}: allow/ignore must be lists of strings", e.entry));
    }
    if (!je.contains("files") || !je["files"].is_array()) return bad(fmt::format("{}: no files list", e.entry));
    for (const auto& jf : je["files"]) {
      if (!jf.is_object() || !jf.contains("path") || !jf["path"].is_string() || !jf.contains("size") ||
          !jf["size"].is_number_unsigned() || !jf.contains("sha256") || !jf["sha256"].is_string()) {
        return bad(fmt::format("{}: a file needs path, size and sha256", e.entry));
      }
      PinnedFile f;
      f.path = jf["path"].get<std::string>();
      f.size = jf["size"].get<std::uint64_t>();
      f.sha256 = jf["sha256"].get<std::string>();
      if (jf.contains("etag") && jf["etag"].is_string()) f.etag = jf["etag"].get<std::string>();
      if (jf.contains("origin_digest") && jf["origin_digest"].is_string()) {
        f.origin_digest = jf["origin_digest"].get<std::string>();
      }
      e.files.push_back(std::move(f));
    }
    auto parsed = core::parse_ref(e.pinned);
    if (!parsed) return bad(fmt::format("{}: pinned ref does not parse: {}", e.entry, parsed.error().message));
    e.ref_is_pinnable = (parsed->kind == core::RefKind::kHuggingFace || parsed->is_bucket()) &&
                        parsed->revision == e.snapshot;
    pins.entries.push_back(std::move(e));
  }
  return pins;
}

Result<PinnedEntry> pin_entry(const Entry& entry, const Snapshot& snapshot) {
  PinnedEntry p;
  p.entry = entry_key(entry);
  p.source = entry.source_as_written();
  p.ref = shown_source(entry.ref);
  p.snapshot = snapshot.snapshot_id;
  p.allow = entry.allow;
  p.ignore = entry.ignore;
  auto ref = core::parse_ref(entry.ref);
  if (!ref) return std::unexpected(ref.error());
  p.ref_is_pinnable = ref->kind == core::RefKind::kHuggingFace || ref->is_bucket();
  p.pinned = p.ref_is_pinnable ? shown_source(snapshot.model) + "@" + snapshot.snapshot_id : shown_source(entry.ref);

  // ETags and promised digests live in the snapshot's manifest (snapshots/<id>.json).
  std::filesystem::path manifest_path = snapshot.path;
  manifest_path += ".json";
  auto text = util::read_file(manifest_path);
  if (!text) return std::unexpected(text.error());
  auto manifest = store::Manifest::from_json(*text);
  if (!manifest) return std::unexpected(manifest.error());
  for (const auto& f : snapshot.files) {
    PinnedFile pf{f.path, f.size, f.sha256, {}, {}};
    if (const auto* m = manifest->find(f.path)) {
      pf.etag = m->etag;
      if (m->origin_digest) pf.origin_digest = m->origin_digest->to_string();
    }
    p.files.push_back(std::move(pf));
  }
  std::sort(p.files.begin(), p.files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return p;
}

Status write_pin_file(const std::filesystem::path& path, const PinFile& pins) {
  return util::write_file_atomic(path, pins.to_json(), 0644);
}

Result<PinFile> read_pin_file(const std::filesystem::path& path) {
  auto text = util::read_file(path);
  if (!text) return std::unexpected(text.error());
  return PinFile::from_json(*text, path);
}

}  // namespace modelcache::deploy
