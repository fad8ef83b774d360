// s3://BUCKET[/PREFIX]: the objects under a prefix of an S3 (or S3-compatible)
// bucket, listed with ListObjectsV2 and fetched with SigV4-signed ranged GETs.
//
// What the prefix names:
//   - empty, or ending in '/': every object under it;
//   - otherwise the "directory" PREFIX/ when it has objects (keys relative to
//     PREFIX/ become the paths), else the single object whose key is exactly
//     PREFIX (its base name is the path). The directory wins when both exist.
//     Both come from one listing of PREFIX as given (keys that only share its
//     letters, "model-v2/" for "model", are skipped).
// Keys ending in '/' are directory markers and skipped. A single-part ETag (32
// hex) is the object's MD5 and is verified; a multipart ETag ("...-N") is only
// recorded. The snapshot id hashes the bucket and the sorted (key, size, ETag).
//
// Addressing: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (core::Config::s3_endpoint)
// or the profile's endpoint_url -> path style ENDPOINT/BUCKET/KEY (S3-compatible
// stores); otherwise virtual-hosted https://BUCKET.s3.REGION.amazonaws.com/KEY
// (path style on s3.REGION.amazonaws.com for bucket names with dots, which
// would not match the TLS certificate). Credentials: aws_credentials.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "source/aws_credentials.hpp"
#include "source/source.hpp"

namespace modelcache::source {

class S3Source final : public Source {
 public:
  explicit S3Source(const core::Config& config);
  // For tests: the environment the credential chain reads.
  S3Source(const core::Config& config, EnvLookup env);
  Result<Listing> list(const core::ModelRef& ref, const ListOptions& options) override;

 private:
  core::Config config_;
  EnvLookup env_;
};

// ---- pure pieces, exposed for tests ----

struct S3Object {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;  // without the quotes
  std::string last_modified;
};

struct S3ListPage {
  std::vector<S3Object> objects;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken
};

// A ListObjectsV2 response body (ListBucketResult).
Result<S3ListPage> parse_list_objects_v2(std::string_view xml);

// The MD5 a single-part ETag is; nullopt for multipart ("-N") and other forms.
std::optional<core::Digest> etag_md5(std::string_view etag);

// What the error answer of S3 says and who asked, to turn it into one line.
struct S3ErrorContext {
  std::string subject;             // "s3://bucket/prefix"
  std::string bucket;
  std::string credentials_origin;  // empty: the request was anonymous
  std::string region;
  std::optional<std::string> bucket_region;  // x-amz-bucket-region, when sent
};

// Maps the status and the <Error><Code> of an S3 XML error body to an Error
// that says what to fix. Never quotes the body beyond its <Code>/<Message>.
Error s3_error(long status, std::string_view body, const S3ErrorContext& context);

// The URL of the bucket (no trailing '/') and of one of its objects.
struct S3Addressing {
  std::string endpoint;  // path style when set, no trailing '/'
  std::string region;

  std::string bucket_url(std::string_view bucket) const;
  std::string object_url(std::string_view bucket, std::string_view key) const;
  // ListObjectsV2 of `prefix` from `token`; max_keys per page.
  std::string list_url(std::string_view bucket, std::string_view prefix, std::string_view token,
                       int max_keys) const;
};

}  // namespace modelcache::source
