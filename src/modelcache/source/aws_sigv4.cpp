#include "source/aws_sigv4.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

#include "util/hasher.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

struct UrlParts {
  std::string host;  // as libcurl sends it in Host:
  std::string path;  // "/" when empty
  std::string query;
};

UrlParts split_url(std::string_view url) {
  UrlParts parts;
  std::string_view scheme;
  if (auto sep = url.find("://"); sep != std::string_view::npos) {
    scheme = url.substr(0, sep);
    url.remove_prefix(sep + 3);
  }
  url = url.substr(0, url.find('#'));
  auto path_start = url.find_first_of("/?");
  std::string_view authority = url.substr(0, path_start);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  parts.host = util::to_lower(authority);
  // libcurl leaves the scheme's default port out of Host:, so the signature must too.
  std::string lower_scheme = util::to_lower(scheme);
  for (auto [s, port] : {std::pair{"https", ":443"}, std::pair{"http", ":80"}}) {
    if (lower_scheme == s && parts.host.ends_with(port)) {
      parts.host.resize(parts.host.size() - std::string_view(port).size());
    }
  }
  std::string_view rest = path_start == std::string_view::npos ? "" : url.substr(path_start);
  auto q = rest.find('?');
  parts.path = std::string(rest.substr(0, q));
  if (parts.path.empty()) parts.path = "/";
  if (q != std::string_view::npos) parts.query = std::string(rest.substr(q + 1));
  return parts;
}

// The query as the URL carries it (already encoded), sorted by key then value;
// a bare "key" signs as "key=".
std::string canonical_query(std::string_view query) {
  if (query.empty()) return {};
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& item : util::split(query, '&')) {
    if (item.empty()) continue;
    auto eq = item.find('=');
    pairs.emplace_back(item.substr(0, eq), eq == std::string::npos ? "" : item.substr(eq + 1));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) out += (out.empty() ? "" : "&") + k + "=" + v;
  return out;
}

// Trimmed, with runs of spaces folded to one, as SigV4 canonical headers want.
std::string canonical_value(std::string_view value) {
  value = util::trim(value);
  std::string out;
  for (char c : value) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  return out;
}

}  // namespace

std::string aws_uri_encode(std::string_view text, Slash slash) {
  return util::url_encode(text, slash == Slash::kKeep ? "/" : "");
}

std::string amz_date(std::chrono::system_clock::time_point time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

SigV4Signature sign_v4(const SigV4Input& input, const AwsCredentials& credentials,
                       std::string_view region, std::string_view service) {
  UrlParts url = split_url(input.url);
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("host", url.host);
  headers.emplace_back("x-amz-content-sha256", std::string(input.payload_sha256));
  headers.emplace_back("x-amz-date", std::string(input.amz_date));
  if (!credentials.session_token.empty()) {
    headers.emplace_back("x-amz-security-token", credentials.session_token);
  }
  for (const auto& [name, value] : input.headers) {
    headers.emplace_back(util::to_lower(name), canonical_value(value));
  }
  std::sort(headers.begin(), headers.end());

  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + name;
  }
  SigV4Signature sig;
  sig.canonical_request = fmt::format("{}\n{}\n{}\n{}\n{}\n{}", input.method, url.path,
                                      canonical_query(url.query), canonical_headers,
                                      signed_headers, input.payload_sha256);
  std::string_view date = input.amz_date.substr(0, 8);
  std::string scope = fmt::format("{}/{}/{}/aws4_request", date, region, service);
  sig.string_to_sign = fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", input.amz_date, scope,
                                   util::sha256_hex(sig.canonical_request));
  std::string key = util::hmac_sha256("AWS4" + credentials.secret_access_key, date);
  key = util::hmac_sha256(key, region);
  key = util::hmac_sha256(key, service);
  key = util::hmac_sha256(key, "aws4_request");
  std::string raw = util::hmac_sha256(key, sig.string_to_sign);
  sig.signature = util::to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  sig.authorization = fmt::format("AWS4-HMAC-SHA256 Credential={}/{},SignedHeaders={},Signature={}",
                                  credentials.access_key_id, scope, signed_headers, sig.signature);

  sig.headers.push_back("x-amz-date: " + std::string(input.amz_date));
  sig.headers.push_back("x-amz-content-sha256: " + std::string(input.payload_sha256));
  if (!credentials.session_token.empty()) {
    sig.headers.push_back("x-amz-security-token: " + credentials.session_token);
  }
  for (const auto& [name, value] : input.headers) sig.headers.push_back(name + ": " + value);
  sig.headers.push_back("Authorization: " + sig.authorization);
  return sig;
}

std::vector<std::string> sign_get_now(std::string_view url, const AwsCredentials& credentials,
                                      std::string_view region) {
  std::string date = amz_date(std::chrono::system_clock::now());
  SigV4Input input{.method = "GET", .url = url, .amz_date = date};
  return sign_v4(input, credentials, region).headers;
}

}  // namespace modelcache::source
