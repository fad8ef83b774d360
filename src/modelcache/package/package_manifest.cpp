#include "package/package_manifest.hpp"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "modelcache/package.hpp"
#include "util/glob.hpp"
#include "util/strings.hpp"

namespace modelcache::package {

namespace {

using nlohmann::json;

Error bad(std::string_view what, const std::string& field, const std::string& problem) {
  return Error{ErrorCode::kProtocol, std::string(what) + ": " + field + " " + problem +
                                         " (doc/PACKAGES.md describes the format)"};
}

// Ids and names: letters, digits, '.', '_', '-' (they appear in flags and messages).
bool is_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Status only_keys(const json& obj, std::initializer_list<std::string_view> keys, std::string_view what,
                 const std::string& field) {
  for (const auto& [k, v] : obj.items()) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
      return std::unexpected(bad(what, field.empty() ? k : field + "." + k, "is not a known field"));
    }
  }
  return {};
}

// The listed paths the globs of `field` match; each glob must match one at least.
Result<std::vector<std::string>> expand(const json& globs, const std::vector<std::string>& listed,
                                        std::string_view what, const std::string& field,
                                        bool allow_empty) {
  if (!globs.is_array()) return std::unexpected(bad(what, field, "must be an array of paths or globs"));
  if (globs.empty() && !allow_empty) return std::unexpected(bad(what, field, "must not be empty"));
  std::set<std::string> out;
  for (std::size_t i = 0; i < globs.size(); ++i) {
    std::string f = field + "[" + std::to_string(i) + "]";
    if (!globs[i].is_string() || globs[i].get<std::string>().empty()) {
      return std::unexpected(bad(what, f, "must be a non-empty string"));
    }
    const auto glob = globs[i].get<std::string>();
    bool any = false;
    for (const auto& p : listed) {
      if (util::glob_match(glob, p)) {
        out.insert(p);
        any = true;
      }
    }
    if (!any) return std::unexpected(bad(what, f, "'" + glob + "' matches no file of the model"));
  }
  return std::vector<std::string>(out.begin(), out.end());
}

Result<std::uint32_t> batch_int(const json& obj, const char* key, std::string_view what,
                                const std::string& field) {
  const auto& v = obj.at(key);
  if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > 1'000'000) {
    return std::unexpected(bad(what, field + "." + key, "must be an integer in [1, 1000000]"));
  }
  return static_cast<std::uint32_t>(v.get<std::int64_t>());
}

Result<BatchBounds> parse_batch(const json& b, std::string_view what, const std::string& field) {
  if (!b.is_object()) return std::unexpected(bad(what, field, "must be {\"static\": N} or {\"min\": N, \"max\": M}"));
  if (auto s = only_keys(b, {"static", "min", "max"}, what, field); !s) return std::unexpected(s.error());
  BatchBounds out;
  if (b.contains("static")) {
    if (b.contains("min") || b.contains("max")) {
      return std::unexpected(bad(what, field, "has \"static\" and \"min\"/\"max\": give one or the other"));
    }
    auto n = batch_int(b, "static", what, field);
    if (!n) return std::unexpected(n.error());
    return BatchBounds{*n, *n, true};
  }
  if (!b.contains("min") && !b.contains("max")) {
    return std::unexpected(bad(what, field, "must be {\"static\": N} or {\"min\": N, \"max\": M}"));
  }
  if (b.contains("min")) {
    auto n = batch_int(b, "min", what, field);
    if (!n) return std::unexpected(n.error());
    out.min = *n;
  }
  if (b.contains("max")) {
    auto n = batch_int(b, "max", what, field);
    if (!n) return std::unexpected(n.error());
    out.max = *n;
  }
  if (out.min > out.max) return std::unexpected(bad(what, field + ".min", "is larger than max"));
  return out;
}

Result<int> cc_field(const json& cuda, const char* key, std::string_view what, const std::string& field) {
  const auto& v = cuda.at(key);
  std::optional<int> cc = v.is_string() ? parse_compute_capability(v.get<std::string>()) : std::nullopt;
  if (!cc) return std::unexpected(bad(what, field + "." + key, "must be a string like \"8.6\""));
  return *cc;
}

Status parse_device(const json& d, Package& p, std::string_view what, const std::string& field) {
  if (!d.is_object()) return std::unexpected(bad(what, field, "must be an object"));
  if (auto s = only_keys(d, {"cuda", "cpu_features"}, what, field); !s) return s;
  if (d.contains("cuda")) {
    const auto& c = d.at("cuda");
    std::string cf = field + ".cuda";
    if (!c.is_object()) return std::unexpected(bad(what, cf, "must be an object"));
    if (auto s = only_keys(c, {"min_compute_capability", "max_compute_capability"}, what, cf); !s) return s;
    CudaNeeds needs;
    if (c.contains("min_compute_capability")) {
      auto cc = cc_field(c, "min_compute_capability", what, cf);
      if (!cc) return std::unexpected(cc.error());
      needs.min_cc = *cc;
    }
    if (c.contains("max_compute_capability")) {
      auto cc = cc_field(c, "max_compute_capability", what, cf);
      if (!cc) return std::unexpected(cc.error());
      if (*cc < needs.min_cc) {
        return std::unexpected(bad(what, cf + ".max_compute_capability", "is lower than the minimum"));
      }
      needs.max_cc = *cc;
    }
    p.cuda = needs;
  }
  if (d.contains("cpu_features")) {
    const auto& f = d.at("cpu_features");
    std::string ff = field + ".cpu_features";
    if (!f.is_array()) return std::unexpected(bad(what, ff, "must be an array of names"));
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (!f[i].is_string() || !is_name(f[i].get<std::string>())) {
        return std::unexpected(bad(what, ff + "[" + std::to_string(i) + "]", "must be a feature name like \"avx2\""));
      }
      p.cpu_features.push_back(util::to_lower(f[i].get<std::string>()));
    }
  }
  return {};
}

Result<Package> parse_package(const json& j, const std::vector<std::string>& listed, std::string_view what,
                              const std::string& field) {
  if (!j.is_object()) return std::unexpected(bad(what, field, "must be an object"));
  if (auto s = only_keys(j, {"id", "backend", "quantization", "files", "batch_size", "device", "description"},
                         what, field);
      !s) {
    return std::unexpected(s.error());
  }
  Package p;
  for (const char* key : {"id", "backend", "files"}) {
    if (!j.contains(key)) return std::unexpected(bad(what, field + "." + key, "is missing"));
  }
  for (const char* key : {"id", "backend", "quantization"}) {
    if (!j.contains(key)) continue;
    const auto& v = j.at(key);
    if (!v.is_string() || !is_name(v.get<std::string>())) {
      return std::unexpected(bad(what, field + "." + key, "must be a name (letters, digits, '.', '_', '-')"));
    }
  }
  p.id = j.at("id").get<std::string>();
  p.backend = util::to_lower(j.at("backend").get<std::string>());
  if (j.contains("quantization")) p.quantization = util::to_lower(j.at("quantization").get<std::string>());
  if (j.contains("description") && !j.at("description").is_string()) {
    return std::unexpected(bad(what, field + ".description", "must be a string"));
  }
  auto files = expand(j.at("files"), listed, what, field + ".files", false);
  if (!files) return std::unexpected(files.error());
  p.files = std::move(*files);
  if (j.contains("batch_size")) {
    auto b = parse_batch(j.at("batch_size"), what, field + ".batch_size");
    if (!b) return std::unexpected(b.error());
    p.batch = *b;
  }
  if (j.contains("device")) {
    if (auto s = parse_device(j.at("device"), p, what, field + ".device"); !s) return std::unexpected(s.error());
  }
  return p;
}

}  // namespace

std::optional<int> parse_compute_capability(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 2 != text.size()) return std::nullopt;
  auto major = util::parse_int(text.substr(0, dot));
  char minor = text[dot + 1];
  if (!major || *major < 1 || *major > 99 || minor < '0' || minor > '9') return std::nullopt;
  return static_cast<int>(*major * 10 + (minor - '0'));
}

std::string format_compute_capability(int cc) {
  return std::to_string(cc / 10) + "." + std::to_string(cc % 10);
}

PackageSet implicit_package(const std::vector<std::string>& listed) {
  PackageSet set;
  Package p;
  p.id = kImplicitPackageId;
  p.files = listed;
  std::sort(p.files.begin(), p.files.end());
  set.packages.push_back(std::move(p));
  return set;
}

Result<PackageSet> parse_manifest(std::string_view text, const std::vector<std::string>& listed,
                                  std::string_view what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return fail(ErrorCode::kProtocol, std::string(what) + " is not valid JSON (doc/PACKAGES.md describes the format)");
  }
  if (!j.is_object()) return std::unexpected(bad(what, "the top level", "must be a JSON object"));
  if (auto s = only_keys(j, {"format", "packages", "shared_files", "description"}, what, ""); !s) {
    return std::unexpected(s.error());
  }
  if (!j.contains("format")) return std::unexpected(bad(what, "format", "is missing"));
  if (!j.at("format").is_number_integer() || j.at("format").get<std::int64_t>() != kManifestFormat) {
    return std::unexpected(bad(what, "format", "is " + j.at("format").dump() + "; this modelcache reads format " +
                                                   std::to_string(kManifestFormat) + " (upgrade modelcache?)"));
  }
  if (!j.contains("packages")) return std::unexpected(bad(what, "packages", "is missing"));
  const auto& pkgs = j.at("packages");
  if (!pkgs.is_array() || pkgs.empty()) return std::unexpected(bad(what, "packages", "must be a non-empty array"));
  PackageSet set;
  set.has_manifest = true;
  std::set<std::string> shared{kPackageManifestName};
  if (j.contains("shared_files")) {
    auto files = expand(j.at("shared_files"), listed, what, "shared_files", true);
    if (!files) return std::unexpected(files.error());
    shared.insert(files->begin(), files->end());
  }
  set.shared_files.assign(shared.begin(), shared.end());
  std::set<std::string> ids;
  for (std::size_t i = 0; i < pkgs.size(); ++i) {
    auto p = parse_package(pkgs[i], listed, what, "packages[" + std::to_string(i) + "]");
    if (!p) return std::unexpected(p.error());
    if (!ids.insert(p->id).second) {
      return std::unexpected(bad(what, "packages[" + std::to_string(i) + "].id", "'" + p->id + "' is used twice"));
    }
    set.packages.push_back(std::move(*p));
  }
  return set;
}

}  // namespace modelcache::package
