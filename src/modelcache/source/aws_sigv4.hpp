// AWS Signature Version 4 (header form) on OpenSSL HMAC-SHA256, for S3 requests.
// The request is described by its URL, which the caller must already have built
// in canonical form: path segments URI-encoded once (S3 does not double-encode),
// query keys and values URI-encoded ('/' as %2F). That way the bytes on the wire
// and the bytes signed are the same, and the server's canonical request matches.
//
// `x-amz-content-sha256` and `x-amz-date` are always signed (S3 and moto reject
// requests without the payload hash); `x-amz-security-token` when the
// credentials are temporary. The signature is valid for 15 minutes from its date,
// so a long download asks for fresh headers per request (RemoteFile::sign).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "source/aws_credentials.hpp"

namespace modelcache::source {

// sha256 of the empty payload: every request we sign is a GET without a body.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// URI-encoding of SigV4: unreserved characters (A-Z a-z 0-9 - . _ ~) stay, every
// other byte becomes %XX (upper-case hex); '/' stays only with kKeepSlash.
enum class Slash { kKeep, kEncode };
std::string aws_uri_encode(std::string_view text, Slash slash);

// "20130524T000000Z" for `time` (UTC).
std::string amz_date(std::chrono::system_clock::time_point time);

struct SigV4Input {
  std::string_view method = "GET";
  std::string_view url;  // scheme://host[:port]/canonical-path?canonical-query
  // Extra headers to sign besides host, x-amz-date, x-amz-content-sha256 and
  // x-amz-security-token (the AWS examples sign Range; our downloads do not).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view payload_sha256 = kEmptyPayloadSha256;
  std::string_view amz_date;  // amz_date(now)
};

// The pieces of a signature, exposed so tests can compare each step with the
// published AWS examples.
struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // 64 hex
  std::string authorization;  // the Authorization header value
  // Every header to send, "Name: value", Authorization included (not Host:
  // libcurl sends the one that was signed).
  std::vector<std::string> headers;
};

SigV4Signature sign_v4(const SigV4Input& input, const AwsCredentials& credentials,
                       std::string_view region, std::string_view service = "s3");

// Headers for a GET of `url` signed now: what RemoteFile::sign and the listing use.
std::vector<std::string> sign_get_now(std::string_view url, const AwsCredentials& credentials,
                                      std::string_view region);

}  // namespace modelcache::source
