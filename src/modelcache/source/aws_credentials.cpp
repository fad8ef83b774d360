#include "source/aws_credentials.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "util/fs.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

// Settings of a profile that need a service we do not speak: saying so beats
// falling back to anonymous requests and a puzzling AccessDenied.
constexpr const char* kUnsupportedProfileKeys[] = {"role_arn", "credential_process",
                                                   "sso_session", "sso_start_url",
                                                   "web_identity_token_file"};

std::string expand_home(std::string path, const EnvLookup& env) {
  if (path == "~" || path.starts_with("~/")) {
    if (auto home = env("HOME")) path = *home + path.substr(1);
  }
  return path;
}

// nullopt when the file does not exist: the AWS files are optional.
Result<std::optional<IniSections>> read_ini(const std::string& path) {
  if (!util::exists(path)) return std::optional<IniSections>();
  auto text = util::read_file(path);
  if (!text) {
    return fail(ErrorCode::kIo, fmt::format("cannot read AWS file {}: {}", path, text.error().message));
  }
  return std::optional(parse_aws_ini(*text));
}

const std::string* find(const std::map<std::string, std::string>& section, const char* key) {
  auto it = section.find(key);
  return it == section.end() || it->second.empty() ? nullptr : &it->second;
}

Result<AwsCredentials> credentials_from_secret(const std::string& secret) {
  // Parse without exceptions: a parser's message quotes the input, i.e. the secret.
  auto json = nlohmann::json::parse(secret, nullptr, /*allow_exceptions=*/false);
  const char* expected =
      "the secret is not AWS credentials: expected JSON {\"aws_access_key_id\": ..., "
      "\"aws_secret_access_key\": ..., \"aws_region\"?: ..., \"aws_session_token\"?: ...}";
  if (json.is_discarded() || !json.is_object()) return fail(ErrorCode::kInvalidArgument, expected);
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = json.find(key);
    if (it == json.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  for (const char* key : {"aws_region", "aws_session_token"}) {
    if (json.contains(key) && !json[key].is_string() && !json[key].is_null()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("the secret's \"{}\" must be a string", key));
    }
  }
  auto id = text("aws_access_key_id");
  auto key = text("aws_secret_access_key");
  if (!id || id->empty() || !key || key->empty()) {
    return fail(ErrorCode::kInvalidArgument,
                std::string(expected) + " (aws_access_key_id or aws_secret_access_key is missing)");
  }
  return AwsCredentials{*id, *key, text("aws_session_token").value_or(""), "the secret"};
}

}  // namespace

IniSections parse_aws_ini(std::string_view text) {
  IniSections sections;
  std::string current;
  bool in_section = false;
  for (const auto& raw : util::split(text, '\n')) {
    std::string_view line = raw;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') continue;  // nested setting
    line = util::trim(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      auto close = line.find(']');
      if (close == std::string_view::npos) {
        in_section = false;
        continue;
      }
      current = std::string(util::trim(line.substr(1, close - 1)));
      in_section = true;
      sections[current];
      continue;
    }
    if (!in_section) continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key = util::to_lower(util::trim(line.substr(0, eq)));
    sections[current][key] = std::string(util::trim(line.substr(eq + 1)));
  }
  return sections;
}

std::vector<std::string> secret_values(const AwsSettings& settings) {
  std::vector<std::string> out;
  if (settings.credentials) {
    out.push_back(settings.credentials->secret_access_key);
    if (!settings.credentials->session_token.empty()) {
      out.push_back(settings.credentials->session_token);
    }
  }
  return out;
}

Result<AwsSettings> resolve_aws_settings(const std::optional<std::string>& secret,
                                         const EnvLookup& env) {
  AwsSettings settings;
  std::optional<std::string> region;

  if (secret) {
    auto creds = credentials_from_secret(*secret);
    if (!creds) return std::unexpected(creds.error());
    settings.credentials = std::move(*creds);
    auto json = nlohmann::json::parse(*secret, nullptr, false);
    if (auto it = json.find("aws_region"); it != json.end() && it->is_string() &&
                                           !it->get<std::string>().empty()) {
      region = it->get<std::string>();
    }
  }

  if (!settings.credentials) {
    auto id = env("AWS_ACCESS_KEY_ID");
    auto key = env("AWS_SECRET_ACCESS_KEY");
    if (id && key) {
      settings.credentials =
          AwsCredentials{*id, *key, env("AWS_SESSION_TOKEN").value_or(""), "AWS_ACCESS_KEY_ID"};
    } else if (id || key) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} is set but {} is not: set both, or neither to use a profile",
                              id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                              id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"));
    }
  }
  if (!region) region = env("AWS_REGION");
  if (!region) region = env("AWS_DEFAULT_REGION");

  // The profile files: credentials (if still none), region, endpoint_url.
  auto named = env("AWS_PROFILE");
  if (!named) named = env("AWS_DEFAULT_PROFILE");
  const std::string profile = named.value_or("default");
  const std::string credentials_path =
      expand_home(env("AWS_SHARED_CREDENTIALS_FILE").value_or("~/.aws/credentials"), env);
  const std::string config_path = expand_home(env("AWS_CONFIG_FILE").value_or("~/.aws/config"), env);
  auto credentials_file = read_ini(credentials_path);
  if (!credentials_file) return std::unexpected(credentials_file.error());
  auto config_file = read_ini(config_path);
  if (!config_file) return std::unexpected(config_file.error());

  auto section_of = [&](const std::optional<IniSections>& file,
                        const std::string& name) -> const std::map<std::string, std::string>* {
    if (!file) return nullptr;
    auto it = file->find(name);
    return it == file->end() ? nullptr : &it->second;
  };
  const auto* cred_section = section_of(*credentials_file, profile);
  // ~/.aws/config names profiles "[profile NAME]", except "[default]".
  const auto* config_section = section_of(*config_file, "profile " + profile);
  if (!config_section && profile == "default") config_section = section_of(*config_file, "default");

  if (named && !cred_section && !config_section && !settings.credentials) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("AWS profile '{}' is in neither {} nor {}: fix AWS_PROFILE", profile,
                            credentials_path, config_path));
  }
  if (!settings.credentials) {
    for (const auto* section : {cred_section, config_section}) {
      if (!section) continue;
      const std::string* id = find(*section, "aws_access_key_id");
      const std::string* key = find(*section, "aws_secret_access_key");
      if (!id && !key) continue;
      std::string where = fmt::format("profile '{}' in {}", profile,
                                      section == cred_section ? credentials_path : config_path);
      if (!id || !key) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("{} has {} but not {}: set both", where,
                                id ? "aws_access_key_id" : "aws_secret_access_key",
                                id ? "aws_secret_access_key" : "aws_access_key_id"));
      }
      const std::string* token = find(*section, "aws_session_token");
      settings.credentials = AwsCredentials{*id, *key, token ? *token : "", where};
      break;
    }
  }
  if (!settings.credentials) {
    for (const auto* section : {cred_section, config_section}) {
      if (!section) continue;
      for (const char* key : kUnsupportedProfileKeys) {
        if (find(*section, key)) {
          return fail(ErrorCode::kInvalidArgument,
                      fmt::format("AWS profile '{}' uses {}, which modelcache does not support: "
                                  "export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN "
                                  "(e.g. from `aws configure export-credentials`) or pass a secret",
                                  profile, key));
        }
      }
    }
  }
  if (config_section) {
    if (!region) {
      if (const std::string* r = find(*config_section, "region")) region = *r;
    }
    if (const std::string* e = find(*config_section, "endpoint_url")) settings.profile_endpoint = *e;
  }
  if (region) settings.region = *region;
  return settings;
}

}  // namespace modelcache::source
