// Where S3 credentials, region and endpoint come from, in the order the AWS CLI
// and SDKs use (first found wins), minus the chains that need a service
// (SSO, assume-role, instance metadata):
//   1. the named secret (ListOptions::secret), JSON {aws_access_key_id,
//      aws_secret_access_key, aws_region?, aws_session_token?};
//   2. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
//   3. profile AWS_PROFILE (else "default") in AWS_SHARED_CREDENTIALS_FILE
//      (~/.aws/credentials), then `[profile NAME]` in AWS_CONFIG_FILE (~/.aws/config);
//   4. none: requests go unsigned (public buckets).
// Region: the secret's aws_region, AWS_REGION, AWS_DEFAULT_REGION, the profile's
// `region`, else us-east-1. The profile may also name an `endpoint_url`.
//
// These variables are read here rather than in core::Config because they form
// one chain with the profile files; the environment is injectable for tests.
// Error messages name where a credential came from, never its value.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"

namespace modelcache::source {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
  std::string origin;         // where they came from, for messages: "AWS_ACCESS_KEY_ID", ...
};

struct AwsSettings {
  std::optional<AwsCredentials> credentials;  // nullopt: anonymous
  std::string region = "us-east-1";
  std::string profile_endpoint;  // endpoint_url of the profile, if any
};

// Returns the value of an environment variable, nullopt when unset or empty.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;

// `secret`: the raw secret value (takes precedence over everything else).
Result<AwsSettings> resolve_aws_settings(const std::optional<std::string>& secret,
                                         const EnvLookup& env);

// Sections of an AWS INI file: section name -> key -> value. Indented lines
// (nested settings such as `s3 =\n  multipart_threshold = ...`) are skipped, so
// they never shadow a top-level key.
using IniSections = std::map<std::string, std::map<std::string, std::string>>;
IniSections parse_aws_ini(std::string_view text);

// Every secret value in `settings`, for scrubbing server-supplied text.
std::vector<std::string> secret_values(const AwsSettings& settings);

}  // namespace modelcache::source
