// The upstream Hub as the daemon asks it for metadata (not for file bytes, which
// Cache::pull fetches): an access check, and the HEAD of a file the store does
// not hold yet, always with the client's own credentials.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/model_ref.hpp"
#include "modelcache/error.hpp"
#include "net/http_client.hpp"
#include "server/http_message.hpp"

namespace modelcache::server {

class UpstreamHub {
 public:
  UpstreamHub(std::string endpoint, core::TransferSettings transfer);

  // GET /api/{type}/{repo}/revision/{revision}; any HTTP status is a response.
  Result<net::HttpResponse> repo_info(const core::ModelRef& repo, std::string_view revision,
                                      const std::optional<std::string>& token) const;
  // HEAD /{repo}/resolve/{revision}/{path} upstream, answered the way this mirror
  // answers it once the file is cached: the bytes come from here, so an LFS
  // file's ETag is its sha256 and Content-Length its size (X-Linked-Size).
  HttpResponse head_file(const core::ModelRef& repo, std::string_view revision, std::string_view path,
                         const std::optional<std::string>& token) const;

 private:
  Result<net::HttpResponse> send(net::HttpRequest request, const std::optional<std::string>& token) const;
  std::string endpoint_;
  core::TransferSettings transfer_;
};

}  // namespace modelcache::server
