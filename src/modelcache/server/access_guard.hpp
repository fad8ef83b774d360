// Who may read what the mirror caches. The daemon pulls with the client's own
// token (Authorization: Bearer) when it sends one, so private and gated repos get
// cached; cached content is then served only to a client the upstream accepts
// for that repo:
//   - without a token: when the repo is known to be public (an anonymous pull
//     listed it, or an anonymous check succeeded) within the TTL;
//   - with a token: when the repo is known public, or the upstream accepted
//     sha256(token) for it within the TTL.
// Otherwise one cheap upstream call decides: GET /api/{type}/{repo}/revision/{commit}
// with the client's credentials (none for a token-less client). Only token
// hashes are kept, in memory.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/model_ref.hpp"
#include "modelcache/error.hpp"
#include "server/upstream_hub.hpp"

namespace modelcache::server {

class AccessGuard {
 public:
  AccessGuard(const UpstreamHub& upstream, std::chrono::seconds ttl);

  // A pull that listed the repo upstream with these credentials succeeded.
  void note_listed(const core::ModelRef& repo, const std::optional<std::string>& token);
  // Ok, or why the client may not read `repo` (kUnauthorized, kGated, kForbidden,
  // kNotFound, kNetwork when the upstream cannot be asked).
  Status check(const core::ModelRef& repo, std::string_view commit, const std::optional<std::string>& token);

 private:
  using Clock = std::chrono::steady_clock;
  std::string key(const core::ModelRef& repo, const std::optional<std::string>& token) const;
  Status ask_upstream(const core::ModelRef& repo, std::string_view commit,
                      const std::optional<std::string>& token) const;

  const UpstreamHub& upstream_;
  std::chrono::seconds ttl_;
  std::mutex mutex_;
  // "<repo id>" (public) or "<repo id> <sha256 of token>" -> accepted until
  std::map<std::string, Clock::time_point> accepted_;
};

}  // namespace modelcache::server
