#include "server/access_guard.hpp"

#include <fmt/format.h>

#include "util/hasher.hpp"

namespace modelcache::server {

AccessGuard::AccessGuard(const UpstreamHub& upstream, std::chrono::seconds ttl) : upstream_(upstream), ttl_(ttl) {}

std::string AccessGuard::key(const core::ModelRef& repo, const std::optional<std::string>& token) const {
  return token ? repo.id() + " " + util::sha256_hex(*token) : repo.id();
}

void AccessGuard::note_listed(const core::ModelRef& repo, const std::optional<std::string>& token) {
  std::lock_guard lock(mutex_);
  accepted_[key(repo, token)] = Clock::now() + ttl_;
}

Status AccessGuard::check(const core::ModelRef& repo, std::string_view commit,
                          const std::optional<std::string>& token) {
  {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    for (const auto& k : {key(repo, std::nullopt), key(repo, token)}) {
      auto it = accepted_.find(k);
      if (it != accepted_.end() && it->second > now) return {};
    }
  }
  if (auto s = ask_upstream(repo, commit, token); !s) return s;
  note_listed(repo, token);
  return {};
}

Status AccessGuard::ask_upstream(const core::ModelRef& repo, std::string_view commit,
                                 const std::optional<std::string>& token) const {
  auto response = upstream_.repo_info(repo, commit, token);
  if (!response) {
    return fail(ErrorCode::kNetwork, "cannot check access to this repository with the upstream; retry later");
  }
  auto code = response->header("x-error-code").value_or("");
  // A commit the upstream lost (force-push) still proves the client can read the repo.
  if (response->status == 200 || code == "RevisionNotFound") return {};
  if (code == "GatedRepo") {
    return fail(ErrorCode::kGated, "this repository is gated: send a token that has access to it");
  }
  if (response->status == 401) {
    return fail(ErrorCode::kUnauthorized,
                token ? "Invalid credentials in Authorization header"
                      : "Repository not found (a private repository needs Authorization: Bearer <token>)");
  }
  if (response->status == 403) return fail(ErrorCode::kForbidden, "the token has no access to this repository");
  if (response->status == 404) return fail(ErrorCode::kNotFound, "Repository not found");
  return fail(ErrorCode::kNetwork, fmt::format("the upstream answered HTTP {} to an access check; retry later",
                                               response->status));
}

}  // namespace modelcache::server
