#include "net/http_client.hpp"

#include <thread>

#include "net/curl_setup.hpp"
#include "net/retry.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::net {

namespace {

struct CurlSlist {
  curl_slist* list = nullptr;
  ~CurlSlist() { curl_slist_free_all(list); }
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string_view line(data, size * n);
  // A new status line starts a new response (after a redirect or 100-continue).
  if (line.starts_with("HTTP/")) {
    headers->clear();
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    headers->emplace_back(util::to_lower(util::trim(line.substr(0, colon))),
                          std::string(util::trim(line.substr(colon + 1))));
  }
  return size * n;
}

struct Attempt {
  CURLcode code = CURLE_OK;
  HttpResponse response;
};

Attempt perform_once(const HttpRequest& request, const core::TransferSettings& settings) {
  Attempt a;
  CURL* easy = curl_easy_init();
  if (!easy) {
    a.code = CURLE_OUT_OF_MEMORY;
    return a;
  }
  apply_common_options(easy, settings);
  CurlSlist headers;
  for (const auto& h : request.headers) headers.list = curl_slist_append(headers.list, h.c_str());
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count() * 1000));
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &a.response.body);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &a.response.headers);
  a.code = curl_easy_perform(easy);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &a.response.status);
  char* effective = nullptr;
  curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective) a.response.effective_url = effective;
  curl_easy_cleanup(easy);
  return a;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return std::nullopt;
}

HttpClient::HttpClient(const core::TransferSettings& settings) : settings_(settings) {
  ensure_curl_global_init();
}

Result<HttpResponse> HttpClient::send(const HttpRequest& request) const {
  for (int attempt = 1;; ++attempt) {
    Attempt a = perform_once(request, settings_);
    bool transport_failed = a.code != CURLE_OK;
    bool retry = transport_failed || is_retryable_status(a.response.status);
    if (!retry || attempt >= settings_.max_attempts) {
      if (!transport_failed) return std::move(a.response);
      ErrorCode code = a.code == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kNetwork;
      return fail(code, request.method + " " + redact_url(request.url) + " failed after " +
                            std::to_string(attempt) + " attempt(s): " + curl_easy_strerror(a.code));
    }
    std::optional<std::chrono::milliseconds> retry_after;
    if (auto v = a.response.header("retry-after")) retry_after = parse_retry_after(*v);
    auto delay = backoff_delay(attempt, settings_.backoff_base, retry_after);
    util::log(util::LogLevel::kInfo, "retrying {} {} in {} ms ({})", request.method,
              redact_url(request.url), delay.count(),
              transport_failed ? std::string(curl_easy_strerror(a.code))
                               : "HTTP " + std::to_string(a.response.status));
    std::this_thread::sleep_for(delay);
  }
}

std::string redact_url(std::string_view url) {
  auto cut = url.find_first_of("?#");
  std::string out(url.substr(0, cut));
  // Drop userinfo ("user:pass@host") as well.
  if (auto scheme = out.find("://"); scheme != std::string::npos) {
    auto host_start = scheme + 3;
    auto path_start = out.find('/', host_start);
    auto at = out.rfind('@', path_start == std::string::npos ? out.size() : path_start);
    if (at != std::string::npos && at >= host_start) out.erase(host_start, at + 1 - host_start);
  }
  return out;
}

std::string url_authority(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  std::string scheme = util::to_lower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  std::string authority = util::to_lower(rest);
  bool has_port = authority.rfind(':') != std::string::npos && authority.back() != ']';
  if (!has_port) authority += scheme == "https" ? ":443" : ":80";
  return authority;
}

}  // namespace modelcache::net
