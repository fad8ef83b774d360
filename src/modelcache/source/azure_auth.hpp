// Azure Blob credentials: where they come from, and the two ways a key signs.
//
// Resolution, first found wins: the named secret (ListOptions::secret: JSON
// {"account_key": "..."}, a connection string, or a SAS token), then
// AZURE_STORAGE_CONNECTION_STRING, then AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY,
// then AZURE_STORAGE_SAS_TOKEN, else anonymous (public containers).
// The endpoint: a connection string's BlobEndpoint, else AZURE_STORAGE_BLOB_ENDPOINT,
// else PROTOCOL://ACCOUNT.blob.SUFFIX from a connection string, else
// https://ACCOUNT.blob.core.windows.net.
//
// A key signs metadata requests with SharedKey (Authorization header, dated per
// request) and file downloads with a read-only service SAS per blob: the
// transfer engine adds its own Range header after the signer ran, and Range is
// one of the headers SharedKey signs, so a SharedKey signature cannot cover the
// ranged GETs.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"

namespace modelcache::source::azure {

// The x-ms-version we send and the sv of the SAS we make: old enough for every
// Azurite 3.x, new enough for the 2020-12-06 SAS string-to-sign.
inline constexpr std::string_view kApiVersion = "2021-08-06";

// AZURE_STORAGE_CONNECTION_STRING, parsed. Keys are matched case-insensitively.
struct ConnectionString {
  std::string protocol;         // DefaultEndpointsProtocol (https when absent)
  std::string account_name;     // AccountName
  std::string account_key;      // AccountKey, base64 as given
  std::string blob_endpoint;    // BlobEndpoint, without a trailing '/'
  std::string sas;              // SharedAccessSignature, without a leading '?'
  std::string endpoint_suffix;  // EndpointSuffix (core.windows.net when absent)
};

// `where` names the text in errors ("AZURE_STORAGE_CONNECTION_STRING"); no part
// of the text itself is ever echoed (it holds the key).
// UseDevelopmentStorage=true stands for Azurite's defaults.
Result<ConnectionString> parse_connection_string(std::string_view text, std::string_view where);

// The environment variables the origin reads, in one place (tests fill it by hand).
struct Environment {
  std::optional<std::string> connection_string;  // AZURE_STORAGE_CONNECTION_STRING
  std::optional<std::string> account;            // AZURE_STORAGE_ACCOUNT
  std::optional<std::string> key;                // AZURE_STORAGE_KEY
  std::optional<std::string> sas_token;          // AZURE_STORAGE_SAS_TOKEN
  std::optional<std::string> blob_endpoint;      // AZURE_STORAGE_BLOB_ENDPOINT

  static Environment from_process();
};

enum class AuthKind { kAnonymous, kSharedKey, kSas };

struct Credentials {
  AuthKind kind = AuthKind::kAnonymous;
  std::string account;   // the ref's account
  std::string key;       // decoded account key bytes (kSharedKey)
  std::string sas;       // SAS query without '?' (kSas)
  std::string endpoint;  // blob service URL, no trailing '/'; containers are below it
  std::string source;    // where the credentials came from, for error messages

  // Every secret value in these credentials (key in base64 and raw, SAS, its sig),
  // for scrubbing server-supplied text.
  std::vector<std::string> secrets() const;
};

// `account` is the ref's account. Errors name the variable to fix, never its value.
Result<Credentials> resolve_credentials(std::string_view account,
                                        const std::optional<std::string>& secret,
                                        const Environment& env);

// "Wed, 25 Nov 2026 04:45:09 GMT" (x-ms-date).
std::string rfc1123_date(std::chrono::system_clock::time_point t);
// "2026-11-26T04:00:00Z" (SAS se=).
std::string iso8601_utc(std::chrono::system_clock::time_point t);

// The Blob service Shared Key string-to-sign (version 2009-09-19 and later) of a
// request to `url` (scheme://host[:port]/path?query, as sent) with `headers`
// ("Name: value"): verb, the eleven standard headers, the x-ms-* headers
// lower-cased and sorted, then "/ACCOUNT/PATH" and each query parameter as
// "\nname:decoded value" sorted by name.
std::string shared_key_string_to_sign(std::string_view account, std::string_view method,
                                      std::string_view url,
                                      const std::vector<std::string>& headers);
// "Authorization: SharedKey ACCOUNT:SIGNATURE" for that request.
std::string shared_key_authorization(std::string_view account, std::string_view key,
                                     std::string_view method, std::string_view url,
                                     const std::vector<std::string>& headers);

// A service SAS (sr=b, sp=r) for reading one blob until `expiry`: the query
// string without '?'. `blob` is the blob name, not URL-encoded.
std::string blob_read_sas(std::string_view account, std::string_view key,
                          std::string_view container, std::string_view blob,
                          std::chrono::system_clock::time_point expiry);

}  // namespace modelcache::source::azure
