#include "server/tenants.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/hasher.hpp"
#include "util/strings.hpp"

namespace modelcache::server {

namespace {

using nlohmann::json;

std::string with_scheme(std::string_view glob) {
  return glob.find("://") == std::string_view::npos ? "hf://" + std::string(glob) : std::string(glob);
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
         });
}

// Reads one tenant object; `where` is "FILE: tenants[i]".
Result<Tenant> parse_tenant(const json& t, const std::string& where) {
  auto bad = [&](std::string_view field, std::string_view what) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{}.{}: {}", where, field, what));
  };
  if (!t.is_object()) return fail(ErrorCode::kInvalidArgument, where + ": expected an object");
  for (const auto& [k, v] : t.items()) {
    if (k != "name" && k != "key_sha256" && k != "models" && k != "upstream_token_env") {
      return bad(k, "unknown field (expected name, key_sha256, models, upstream_token_env)");
    }
  }
  Tenant out;
  auto name = t.find("name");
  if (name == t.end() || !name->is_string() || !is_name(name->get<std::string>())) {
    return bad("name", "expected a string of letters, digits, '-', '_', '.' (at most 64)");
  }
  out.name = name->get<std::string>();
  auto keys = t.find("key_sha256");
  const std::string key_help = "expected the sha256 hex of the key (`modelcache serve --hash-key`), or a list of them";
  if (keys == t.end()) return bad("key_sha256", key_help);
  json list = keys->is_array() ? *keys : json::array({*keys});
  if (list.empty()) return bad("key_sha256", key_help);
  for (const auto& k : list) {
    std::string hex = k.is_string() ? util::to_lower(k.get<std::string>()) : "";
    if (!is_hex64(hex)) return bad("key_sha256", key_help);
    out.key_sha256.push_back(std::move(hex));
  }
  auto models = t.find("models");
  if (models == t.end() || !models->is_array()) {
    return bad("models", "expected a list of model globs, e.g. [\"hf://org/*\", \"local/my-model\"]");
  }
  for (const auto& m : *models) {
    if (!m.is_string() || m.get<std::string>().empty()) return bad("models", "every entry must be a non-empty string");
    out.models.push_back(with_scheme(m.get<std::string>()));
  }
  if (auto env = t.find("upstream_token_env"); env != t.end()) {
    if (!env->is_string() || env->get<std::string>().empty()) {
      return bad("upstream_token_env", "expected the name of an environment variable");
    }
    // The name is not a secret; its value is, and is never printed.
    const char* value = std::getenv(env->get<std::string>().c_str());
    if (value == nullptr || *value == '\0') {
      return bad("upstream_token_env",
                 fmt::format("{} is not set in the daemon's environment; set it or remove the field",
                             env->get<std::string>()));
    }
    out.upstream_token = value;
  }
  return out;
}

}  // namespace

bool Tenant::may_use(std::string_view model_id) const {
  if (std::find(also.begin(), also.end(), model_id) != also.end()) return true;
  return std::any_of(models.begin(), models.end(), [&](const std::string& g) { return util::glob_match(g, model_id); });
}

Result<Tenants> Tenants::load(const std::filesystem::path& file, const RepoNames& names) {
  auto text = util::read_file(file);
  if (!text) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("--api-keys {}: cannot read it: {}", file.string(), text.error().message));
  }
  return parse(*text, file.string(), names);
}

Result<Tenants> Tenants::parse(std::string_view text, std::string_view label, const RepoNames& names) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("--api-keys {}: not valid JSON: {}", label, e.what()));
  }
  if (!doc.is_object() || doc.size() != 1 || !doc.contains("tenants") || !doc["tenants"].is_array()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("--api-keys {}: expected {{\"tenants\": [...]}} and no other field", label));
  }
  Tenants out;
  const auto& list = doc["tenants"];
  if (list.empty()) return fail(ErrorCode::kInvalidArgument, fmt::format("--api-keys {}: tenants is empty", label));
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string where = fmt::format("--api-keys {}: tenants[{}]", label, i);
    auto tenant = parse_tenant(list[i], where);
    if (!tenant) return std::unexpected(tenant.error());
    for (const auto& seen : out.tenants_) {
      if (seen.name == tenant->name) {
        return fail(ErrorCode::kInvalidArgument, fmt::format("{}.name: {} is given twice", where, tenant->name));
      }
      for (const auto& k : tenant->key_sha256) {
        if (std::find(seen.key_sha256.begin(), seen.key_sha256.end(), k) != seen.key_sha256.end()) {
          return fail(ErrorCode::kInvalidArgument,
                      fmt::format("{}.key_sha256: the same key is also tenant {}'s", where, seen.name));
        }
      }
    }
    // A configured name and its REF are one model: allowed one, allowed both.
    for (const auto& n : names.all()) {
      std::string target = n.target.id();
      if (tenant->may_use(n.hub_id)) tenant->also.push_back(target);
      if (tenant->may_use(target)) tenant->also.push_back(n.hub_id);
    }
    out.tenants_.push_back(std::move(*tenant));
  }
  return out;
}

const Tenant* Tenants::authenticate(const HttpRequest& request) const {
  auto key = request.bearer_token();
  if (!key) return nullptr;
  std::string presented = util::sha256_hex(*key);
  const Tenant* found = nullptr;
  // Every stored hash is compared, each in constant time.
  for (const auto& t : tenants_) {
    for (const auto& h : t.key_sha256) {
      if (CRYPTO_memcmp(h.data(), presented.data(), presented.size()) == 0) found = &t;
    }
  }
  return found;
}

bool may_use(const HttpRequest& request, std::string_view model_id) {
  return request.tenant == nullptr || request.tenant->may_use(model_id);
}

HttpResponse forbidden_response(std::string_view model_id) {
  return error_response(403, "", fmt::format("your api key does not give access to {}; ask for it to be added", model_id));
}

std::string hash_api_key(std::string_view key) {
  // What `printf %s KEY | sha256sum` prints: a trailing newline (echo) is not part of the key.
  if (key.ends_with('\n')) key.remove_suffix(1);
  if (key.ends_with('\r')) key.remove_suffix(1);
  return util::sha256_hex(key);
}

}  // namespace modelcache::server
