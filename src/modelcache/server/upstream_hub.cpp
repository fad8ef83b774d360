#include "server/upstream_hub.hpp"

#include <fmt/format.h>

#include "util/strings.hpp"

namespace modelcache::server {

UpstreamHub::UpstreamHub(std::string endpoint, core::TransferSettings transfer)
    : endpoint_(std::move(endpoint)), transfer_(std::move(transfer)) {
  transfer_.max_attempts = std::min(transfer_.max_attempts, 2);  // a client is waiting
}

Result<net::HttpResponse> UpstreamHub::send(net::HttpRequest request, const std::optional<std::string>& token) const {
  request.timeout = std::chrono::seconds(15);
  if (token) request.headers.push_back("Authorization: Bearer " + *token);
  return net::HttpClient(transfer_).send(request);
}

Result<net::HttpResponse> UpstreamHub::repo_info(const core::ModelRef& repo, std::string_view revision,
                                                 const std::optional<std::string>& token) const {
  net::HttpRequest request;
  request.url = fmt::format("{}/api/{}/{}/revision/{}", endpoint_, repo.hub_type_path(), repo.repo,
                            util::url_encode(revision));
  return send(std::move(request), token);
}

HttpResponse UpstreamHub::head_file(const core::ModelRef& repo, std::string_view revision, std::string_view path,
                                    const std::optional<std::string>& token) const {
  net::HttpRequest request;
  request.method = "HEAD";
  request.follow_redirects = false;  // an LFS file's 302 carries what we need
  request.url = fmt::format("{}/{}{}/resolve/{}/{}", endpoint_,
                            repo.repo_type == core::RepoType::kDataset ? "datasets/" : "", repo.repo,
                            util::url_encode(revision), util::url_encode(path, "/"));
  auto response = send(std::move(request), token);
  if (!response) return error_response(502, "", "the upstream cannot be reached; retry later");
  HttpResponse r;
  auto copy = [&](const char* lower, const char* name) {
    if (auto v = response->header(lower)) r.set_header(name, *v);
  };
  copy("x-repo-commit", "X-Repo-Commit");
  copy("x-error-code", "X-Error-Code");
  copy("x-error-message", "X-Error-Message");
  if (response->status >= 400) {
    r.status = static_cast<int>(response->status);
    r.set_header("Content-Type", "application/json; charset=utf-8");
    return r;
  }
  auto linked_size = response->header("x-linked-size");
  auto linked_etag = response->header("x-linked-etag");
  auto etag = linked_etag ? linked_etag : response->header("etag");
  auto length = linked_size ? linked_size : response->header("content-length");
  std::int64_t size = -1;
  if (length) size = util::parse_int(*length).value_or(-1);
  if (response->status >= 300 && !linked_size) {
    return error_response(502, "", "the upstream redirected without X-Linked-Size; retry with GET");
  }
  if (!etag || size < 0) return error_response(502, "", "the upstream's HEAD lacks ETag or size");
  r.set_header("ETag", *etag);
  if (linked_size) {
    r.set_header("X-Linked-Etag", *etag);
    r.set_header("X-Linked-Size", *linked_size);
  }
  r.set_header("Accept-Ranges", "bytes");
  r.set_header("Content-Type", "application/octet-stream");
  r.head_length = static_cast<std::uint64_t>(size);
  return r;
}

}  // namespace modelcache::server
