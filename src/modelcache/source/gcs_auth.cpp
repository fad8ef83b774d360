#include "source/gcs_auth.hpp"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "net/http_client.hpp"
#include "source/origin_errors.hpp"
#include "util/base64.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

using Json = nlohmann::json;

// A token is used only while it has at least this long to live.
constexpr std::int64_t kExpiryMarginSeconds = 60;
constexpr std::int64_t kJwtLifetimeSeconds = 3600;

struct CachedToken {
  std::string token;
  std::int64_t expires_at = 0;  // unix seconds
};

std::mutex& cache_mutex() {
  static std::mutex mu;
  return mu;
}

// (client_email, token_uri) -> token; guarded by cache_mutex().
std::map<std::pair<std::string, std::string>, CachedToken>& token_cache() {
  static std::map<std::pair<std::string, std::string>, CachedToken> cache;
  return cache;
}

std::string json_string(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// An access token goes into a header line: it must be one printable token.
bool plausible_token(std::string_view token) {
  if (token.empty() || token.size() > 8192) return false;
  for (char c : token) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

Result<GcsCredentials> token_credentials(std::string_view value, std::string origin) {
  std::string token(util::trim(value));
  if (!plausible_token(token)) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("{} is neither a service-account JSON key nor an OAuth access token", origin));
  }
  return GcsCredentials{GcsAuthKind::kAccessToken, std::move(token), {}, std::move(origin)};
}

Result<GcsCredentials> account_credentials(std::string_view json, std::string origin) {
  auto account = parse_service_account(json, origin);
  if (!account) return std::unexpected(account.error());
  return GcsCredentials{GcsAuthKind::kServiceAccount, "", std::move(*account), std::move(origin)};
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};

Result<std::string> rs256(const ServiceAccount& account, std::string_view input) {
  auto bad_key = [&] {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("service account {}: its private_key is not a PEM RSA private key; "
                            "download a new JSON key for it",
                            printable(account.client_email)));
  };
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(account.private_key.data(), static_cast<int>(account.private_key.size())));
  if (!bio) return fail(ErrorCode::kInternal, "BIO_new_mem_buf failed");
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return bad_key();
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) != 1) {
    return bad_key();
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, data,
                     input.size()) != 1) {
    return bad_key();
  }
  signature.resize(len);
  return signature;
}

// "HTTP 400 invalid_grant: Invalid JWT Signature." from an OAuth error body.
std::string oauth_error_text(const net::HttpResponse& response, const std::string& assertion) {
  std::string text = fmt::format("HTTP {}", response.status);
  Json body = Json::parse(response.body, nullptr, false);
  if (body.is_object()) {
    std::string error = json_string(body, "error");
    std::string description = json_string(body, "error_description");
    if (!error.empty()) text += " " + error;
    if (!description.empty()) text += ": " + description;
  }
  return printable(scrub(std::move(text), assertion));
}

std::string advice_for(long status) {
  if (status == 400 || status == 401) {
    return "the key was rejected (deleted, disabled or not this account's): create a new key "
           "for the account and use its JSON file";
  }
  if (status == 403) return "the account may not get tokens: check that it is enabled";
  return "try again later";
}

}  // namespace

GcsCredentialEnv GcsCredentialEnv::from_environment() {
  return {util::env("GOOGLE_APPLICATION_CREDENTIALS"), util::env("GOOGLE_OAUTH_ACCESS_TOKEN")};
}

Result<GcsCredentials> resolve_gcs_credentials(const std::optional<std::string>& secret,
                                               const GcsCredentialEnv& env) {
  if (secret) {
    std::string_view text = util::trim(*secret);
    if (text.starts_with("{")) return account_credentials(text, "the secret");
    return token_credentials(text, "the secret");
  }
  if (env.application_credentials) {
    const std::string& path = *env.application_credentials;
    std::string origin = fmt::format("GOOGLE_APPLICATION_CREDENTIALS ({})", printable(path));
    auto text = util::read_file(path);
    if (!text) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("cannot read {}: {}; point it at a service-account JSON key file",
                              origin, text.error().message));
    }
    return account_credentials(*text, std::move(origin));
  }
  if (env.oauth_access_token) {
    return token_credentials(*env.oauth_access_token, "GOOGLE_OAUTH_ACCESS_TOKEN");
  }
  return GcsCredentials{};
}

Result<ServiceAccount> parse_service_account(std::string_view json, std::string_view origin) {
  Json j = Json::parse(json, nullptr, false);
  if (!j.is_object()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is not valid JSON: expected a service-account key file", origin));
  }
  std::string type = json_string(j, "type");
  if (!type.empty() && type != "service_account") {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} holds credentials of type '{}'; only 'service_account' keys "
                            "(or a plain access token) are supported",
                            origin, printable(type, 40)));
  }
  ServiceAccount account{json_string(j, "client_email"), json_string(j, "private_key"),
                         json_string(j, "private_key_id"), json_string(j, "token_uri")};
  if (account.client_email.empty() || account.private_key.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is not a service-account key: it needs client_email and "
                            "private_key",
                            origin));
  }
  if (account.token_uri.empty()) account.token_uri = kGoogleTokenUri;
  if (!account.token_uri.starts_with("https://") && !account.token_uri.starts_with("http://")) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: token_uri must be an http(s) URL", origin));
  }
  return account;
}

Result<std::string> make_service_account_jwt(const ServiceAccount& account,
                                             std::int64_t issued_at) {
  Json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!account.private_key_id.empty()) header["kid"] = account.private_key_id;
  Json claims = {{"iss", account.client_email},
                 {"scope", kGcsReadOnlyScope},
                 {"aud", account.token_uri},
                 {"iat", issued_at},
                 {"exp", issued_at + kJwtLifetimeSeconds}};
  std::string input = util::base64url_encode(header.dump()) + "." + util::base64url_encode(claims.dump());
  auto signature = rs256(account, input);
  if (!signature) return std::unexpected(signature.error());
  return input + "." + util::base64url_encode(*signature);
}

Result<std::string> service_account_token(const ServiceAccount& account,
                                          const core::TransferSettings& transfer) {
  const auto key = std::make_pair(account.client_email, account.token_uri);
  std::int64_t now = util::unix_now();
  {
    std::lock_guard lock(cache_mutex());
    auto it = token_cache().find(key);
    if (it != token_cache().end() && now < it->second.expires_at - kExpiryMarginSeconds) {
      return it->second.token;
    }
  }
  const std::string who = fmt::format("service account {}", printable(account.client_email));
  const std::string where = net::redact_url(account.token_uri);
  auto jwt = make_service_account_jwt(account, now);
  if (!jwt) return std::unexpected(jwt.error());
  net::HttpRequest request{
      .method = "POST",
      .url = account.token_uri,
      .headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"},
      .body = "grant_type=" + util::url_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
              "&assertion=" + util::url_encode(*jwt)};
  util::log(util::LogLevel::kDebug, "{}: exchanging a JWT for an access token at {}", who, where);
  auto response = net::HttpClient(transfer).send(request);
  if (!response) {
    return fail(response.error().code,
                fmt::format("{}: cannot reach the token endpoint {}: {}", who, where,
                            scrub(response.error().message, *jwt)));
  }
  if (response->status != 200) {
    ErrorCode code = response->status >= 500 ? ErrorCode::kNetwork : ErrorCode::kUnauthorized;
    return fail(code, fmt::format("{}: token exchange at {} failed ({}): {}", who, where,
                                  oauth_error_text(*response, *jwt), advice_for(response->status)));
  }
  Json body = Json::parse(response->body, nullptr, false);
  std::string token = body.is_object() ? json_string(body, "access_token") : std::string();
  if (!plausible_token(token)) {
    return fail(ErrorCode::kProtocol,
                fmt::format("{}: the token endpoint {} answered without a usable access_token", who,
                            where));
  }
  std::int64_t lifetime = 3600;
  if (auto it = body.find("expires_in"); it != body.end() && it->is_number_integer()) {
    lifetime = it->get<std::int64_t>();
  }
  {
    std::lock_guard lock(cache_mutex());
    token_cache()[key] = CachedToken{token, now + lifetime};
  }
  return token;
}

void clear_gcs_token_cache() {
  std::lock_guard lock(cache_mutex());
  token_cache().clear();
}

}  // namespace modelcache::source
