// Credentials for the GCS origin, first found wins:
//   1. ListOptions::secret: a service-account JSON key, or a plain OAuth 2.0
//      access token;
//   2. GOOGLE_APPLICATION_CREDENTIALS: path to a service-account JSON key;
//   3. GOOGLE_OAUTH_ACCESS_TOKEN: a plain access token (what
//      `gcloud auth print-access-token` prints);
//   4. none: anonymous requests, which public buckets (and emulators) accept.
// No metadata server and no gcloud user credentials: a pull must not depend on
// where it happens to run.
//
// A service account gets its access token through the OAuth 2.0 JWT bearer flow
// ("Using OAuth 2.0 for Server to Server Applications"): an RS256-signed JWT
// {iss: client_email, scope, aud: token_uri, iat, exp: iat + 3600} POSTed to the
// key file's token_uri. Tokens are cached in-process per (client_email,
// token_uri) until 60 s before they expire, so a pull exchanges one JWT at most.
//
// Nothing here ever puts a private key, an assertion or a token in an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "modelcache/error.hpp"

namespace modelcache::source {

inline constexpr std::string_view kGcsReadOnlyScope =
    "https://www.googleapis.com/auth/devstorage.read_only";
inline constexpr std::string_view kGoogleTokenUri = "https://oauth2.googleapis.com/token";

struct ServiceAccount {
  std::string client_email;
  std::string private_key;     // PEM; secret
  std::string private_key_id;  // the JWT's "kid" when present
  std::string token_uri;       // kGoogleTokenUri when the key file has none
};

enum class GcsAuthKind { kNone, kAccessToken, kServiceAccount };

struct GcsCredentials {
  GcsAuthKind kind = GcsAuthKind::kNone;
  std::string access_token;  // kAccessToken; secret
  ServiceAccount account;    // kServiceAccount
  std::string origin;        // where they came from, for errors (never the value)
};

// The environment variables that hold credentials (read by from_environment()).
struct GcsCredentialEnv {
  std::optional<std::string> application_credentials;  // GOOGLE_APPLICATION_CREDENTIALS
  std::optional<std::string> oauth_access_token;       // GOOGLE_OAUTH_ACCESS_TOKEN
  static GcsCredentialEnv from_environment();
};

Result<GcsCredentials> resolve_gcs_credentials(const std::optional<std::string>& secret,
                                               const GcsCredentialEnv& env);

// A service-account key file's JSON; `origin` names it in errors.
Result<ServiceAccount> parse_service_account(std::string_view json, std::string_view origin);

// RFC 4648 section 5, without padding (what JWTs use).

// The signed JWT (header.claims.signature) for `account`, issued at `issued_at`
// (unix seconds), valid for an hour.
Result<std::string> make_service_account_jwt(const ServiceAccount& account, std::int64_t issued_at);

// An access token for `account`: cached, or exchanged for a fresh JWT now.
Result<std::string> service_account_token(const ServiceAccount& account,
                                          const core::TransferSettings& transfer);

// Forget every cached token (tests).
void clear_gcs_token_cache();

}  // namespace modelcache::source
