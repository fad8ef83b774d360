// Blocking HTTP requests for metadata (listings, HEADs, API JSON) on libcurl's
// easy interface, with the same retry policy as the transfer engine. Bulk file
// bytes go through transfer::Engine instead.
//
// Credentials: pass them as a header ("Authorization: Bearer ..."); libcurl sends
// custom Authorization headers only to the original host and port, so a redirect
// to another host drops them. Never log header values.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "modelcache/error.hpp"

namespace modelcache::net {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  bool follow_redirects = true;
  std::chrono::seconds timeout{60};
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, last response only
  std::string body;
  std::string effective_url;  // after redirects

  std::optional<std::string> header(std::string_view lower_name) const;
  bool succeeded() const { return status >= 200 && status < 300; }
};

class HttpClient {
 public:
  explicit HttpClient(const core::TransferSettings& settings);
  // Retries connection errors, timeouts, 408, 429 and 5xx with backoff, honouring
  // Retry-After. Any status that is not retried is returned as a response (the caller
  // maps 4xx to errors); only transport failures after all attempts are errors.
  Result<HttpResponse> send(const HttpRequest& request) const;

 private:
  core::TransferSettings settings_;
};

// URL without its query string and fragment, safe to show in logs and errors.
std::string redact_url(std::string_view url);
// "host:port" of a URL (port defaulted from the scheme), lower-cased.
std::string url_authority(std::string_view url);

}  // namespace modelcache::net
