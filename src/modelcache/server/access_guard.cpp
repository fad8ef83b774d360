#include "server/access_guard.hpp"

#include <fmt/format.h>

#include "net/http_client.hpp"
#include "util/hasher.hpp"
#include "util/strings.hpp"

namespace modelcache::server {

AccessGuard::AccessGuard(std::string endpoint, core::TransferSettings transfer, std::chrono::seconds ttl)
    : endpoint_(std::move(endpoint)), transfer_(std::move(transfer)), ttl_(ttl) {
  transfer_.max_attempts = std::min(transfer_.max_attempts, 2);  // a client is waiting
}

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
  net::HttpRequest request;
  request.url = fmt::format("{}/api/{}/{}/revision/{}", endpoint_, repo.hub_type_path(), repo.repo,
                            util::url_encode(commit));
  request.timeout = std::chrono::seconds(15);
  if (token) request.headers.push_back("Authorization: Bearer " + *token);
  auto response = net::HttpClient(transfer_).send(request);
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
