// Tenants of `modelcache serve --api-keys FILE`: who sent a request (by its
// "Authorization: Bearer <api key>") and which models it may use. The file is
// JSON; keys are stored as the sha256 hex of the key, never in clear:
//   {"tenants": [{"name": "team-a",
//                 "key_sha256": "<64 hex>" or ["<64 hex>", ...],
//                 "models": ["hf://org/*", "hf://datasets/org/name", "local/my-model", "s3://bucket/*"],
//                 "upstream_token_env": "TEAM_A_HF_TOKEN"}]}     (optional)
// A model glob without a scheme is a Hub id ("org/*" is "hf://org/*"); '*'
// also matches '/'. A configured repo name (--repo NAME=REF) and its REF are
// the same model: a tenant allowed one may use the other.
// upstream_token_env names a variable of the daemon's environment holding the
// Hub token the mirror sends upstream for this tenant (private and gated repos):
// a client's Authorization carries its api key, so it cannot carry a Hub token.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"
#include "server/http_message.hpp"
#include "server/repo_names.hpp"

namespace modelcache::server {

struct Tenant {
  std::string name;
  std::vector<std::string> key_sha256;  // lower-case hex
  std::vector<std::string> models;      // globs over model ids, with a scheme
  std::vector<std::string> also;        // exact ids allowed through a configured repo name
  std::optional<std::string> upstream_token;  // never logged or echoed

  // `model_id` as core::ModelRef::id() writes it ("hf://org/name", "s3://b/p", ...).
  bool may_use(std::string_view model_id) const;
};

class Tenants {
 public:
  // kInvalidArgument with one line naming the file and the field at fault.
  static Result<Tenants> load(const std::filesystem::path& file, const RepoNames& names);
  // `label` names the source in errors (the file's path).
  static Result<Tenants> parse(std::string_view text, std::string_view label, const RepoNames& names);

  // The tenant whose key the request's "Authorization: Bearer" carries, or null.
  // Hashes are compared in constant time.
  const Tenant* authenticate(const HttpRequest& request) const;
  const std::vector<Tenant>& all() const { return tenants_; }

 private:
  std::vector<Tenant> tenants_;
};

// For routes: true without --api-keys, else when the request's tenant (set by the
// TenantGate before routing) may use `model_id`.
bool may_use(const HttpRequest& request, std::string_view model_id);
// 403 {"error": "..."} for a model outside the request's tenant's set.
HttpResponse forbidden_response(std::string_view model_id);

// The line `modelcache serve --hash-key` prints for a key read on stdin.
std::string hash_api_key(std::string_view key);

}  // namespace modelcache::server
