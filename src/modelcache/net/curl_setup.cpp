#include "net/curl_setup.hpp"

#include <mutex>

namespace modelcache::net {

void ensure_curl_global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

const char* user_agent() { return "modelcache/0.1"; }

void apply_common_options(CURL* easy, const core::TransferSettings& settings) {
  curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(settings.connect_timeout.count() * 1000));
  // A custom Authorization header must never follow a redirect to another host.
  curl_easy_setopt(easy, CURLOPT_UNRESTRICTED_AUTH, 0L);
  if (!settings.ca_bundle.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, settings.ca_bundle.c_str());
}

}  // namespace modelcache::net
