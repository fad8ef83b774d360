#include "source/azure_auth.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "util/base64.hpp"
#include "util/hasher.hpp"
#include "util/strings.hpp"

namespace modelcache::source::azure {

namespace {

// Azurite's well-known development account (public, printed in Microsoft's docs).
constexpr std::string_view kDevAccount = "devstoreaccount1";
constexpr std::string_view kDevKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
constexpr std::string_view kDevBlobEndpoint = "http://127.0.0.1:10000/devstoreaccount1";

std::string strip_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string strip_question(std::string_view s) {
  s = util::trim(s);
  if (!s.empty() && s.front() == '?') s.remove_prefix(1);
  return std::string(s);
}

bool has_sig(std::string_view sas) {
  for (const auto& part : util::split(sas, '&')) {
    if (part.starts_with("sig=") && part.size() > 4) return true;
  }
  return false;
}

Status check_endpoint(const std::string& endpoint, std::string_view where) {
  if (endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
    if (endpoint.find_first_of("?#") == std::string::npos) return {};
  }
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("{}: the blob endpoint must be an http:// or https:// URL without a "
                          "query, such as https://ACCOUNT.blob.core.windows.net",
                          where));
}

Result<std::string> decode_key(std::string_view key, std::string_view where) {
  auto raw = util::base64_decode(util::trim(key));
  if (!raw || raw->empty()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: the account key is not base64: copy key1 or key2 from the "
                            "storage account's Access keys page",
                            where));
  }
  return *raw;
}

Status check_account(std::string_view ref_account, std::string_view named, std::string_view where) {
  if (named.empty() || named == ref_account) return {};
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("{} is for storage account '{}', but the reference names account '{}': "
                          "use az://{}/... or credentials for '{}'",
                          where, named, ref_account, named, ref_account));
}

// Credentials from a parsed connection string (from the environment or a secret).
Result<Credentials> from_connection_string(std::string_view account, const ConnectionString& cs,
                                           const Environment& env, std::string_view where) {
  if (auto ok = check_account(account, cs.account_name, where); !ok)
    return std::unexpected(ok.error());
  Credentials c;
  c.account = std::string(account);
  c.source = std::string(where);
  if (!cs.account_key.empty()) {
    auto key = decode_key(cs.account_key, where);
    if (!key) return std::unexpected(key.error());
    c.kind = AuthKind::kSharedKey;
    c.key = std::move(*key);
  } else if (!cs.sas.empty()) {
    c.kind = AuthKind::kSas;
    c.sas = cs.sas;
  }
  if (!cs.blob_endpoint.empty()) {
    c.endpoint = cs.blob_endpoint;
  } else if (env.blob_endpoint) {
    c.endpoint = strip_slashes(*env.blob_endpoint);
    if (auto ok = check_endpoint(c.endpoint, "AZURE_STORAGE_BLOB_ENDPOINT"); !ok) {
      return std::unexpected(ok.error());
    }
  } else {
    c.endpoint = fmt::format("{}://{}.blob.{}", cs.protocol, account, cs.endpoint_suffix);
  }
  return c;
}

}  // namespace

Result<ConnectionString> parse_connection_string(std::string_view text, std::string_view where) {
  ConnectionString cs;
  bool development = false;
  int index = 0;
  for (const auto& raw_part : util::split(text, ';')) {
    ++index;
    std::string_view part = util::trim(raw_part);
    if (part.empty()) continue;
    auto eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} is malformed: part {} is not Key=Value (expected "
                              "AccountName=...;AccountKey=...;... separated by ';')",
                              where, index));
    }
    std::string name = util::to_lower(util::trim(part.substr(0, eq)));
    std::string value(util::trim(part.substr(eq + 1)));
    if (name == "defaultendpointsprotocol") {
      cs.protocol = util::to_lower(value);
    } else if (name == "accountname") {
      cs.account_name = value;
    } else if (name == "accountkey") {
      cs.account_key = value;
    } else if (name == "blobendpoint") {
      cs.blob_endpoint = strip_slashes(value);
    } else if (name == "sharedaccesssignature") {
      cs.sas = strip_question(value);
    } else if (name == "endpointsuffix") {
      cs.endpoint_suffix = strip_slashes(value);
    } else if (name == "usedevelopmentstorage") {
      development = util::iequals(value, "true");
    }
    // QueueEndpoint, TableEndpoint, FileEndpoint, ...: not ours.
  }
  if (development) {
    if (cs.account_name.empty()) cs.account_name = kDevAccount;
    if (cs.account_key.empty() && cs.sas.empty()) cs.account_key = kDevKey;
    if (cs.blob_endpoint.empty()) cs.blob_endpoint = kDevBlobEndpoint;
    if (cs.protocol.empty()) cs.protocol = "http";
  }
  if (cs.protocol.empty()) cs.protocol = "https";
  if (cs.protocol != "https" && cs.protocol != "http") {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("{} is malformed: DefaultEndpointsProtocol must be https or http", where));
  }
  if (cs.endpoint_suffix.empty()) cs.endpoint_suffix = "core.windows.net";
  if (cs.account_name.empty() && cs.blob_endpoint.empty()) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("{} is malformed: it has neither AccountName= nor BlobEndpoint=", where));
  }
  if (!cs.account_key.empty() && cs.account_name.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is malformed: AccountKey= needs AccountName=", where));
  }
  if (!cs.account_key.empty()) {
    if (auto key = decode_key(cs.account_key, where); !key) return std::unexpected(key.error());
  }
  if (!cs.sas.empty() && !has_sig(cs.sas)) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("{} is malformed: SharedAccessSignature= has no sig= parameter", where));
  }
  if (!cs.blob_endpoint.empty()) {
    if (auto ok = check_endpoint(cs.blob_endpoint, where); !ok) return std::unexpected(ok.error());
  }
  return cs;
}

Environment Environment::from_process() {
  return {util::env("AZURE_STORAGE_CONNECTION_STRING"), util::env("AZURE_STORAGE_ACCOUNT"),
          util::env("AZURE_STORAGE_KEY"), util::env("AZURE_STORAGE_SAS_TOKEN"),
          util::env("AZURE_STORAGE_BLOB_ENDPOINT")};
}

std::vector<std::string> Credentials::secrets() const {
  std::vector<std::string> out;
  if (!key.empty()) {
    out.push_back(util::base64_encode(key));
    out.push_back(key);
  }
  if (!sas.empty()) {
    out.push_back(sas);
    for (const auto& part : util::split(sas, '&')) {
      if (part.starts_with("sig=") && part.size() > 4) {
        out.push_back(part.substr(4));
        out.push_back(util::url_decode(part.substr(4)));
      }
    }
  }
  return out;
}

Result<Credentials> resolve_credentials(std::string_view account,
                                        const std::optional<std::string>& secret,
                                        const Environment& env) {
  auto default_endpoint = [&](Credentials& c) -> Status {
    if (env.blob_endpoint) {
      c.endpoint = strip_slashes(*env.blob_endpoint);
      return check_endpoint(c.endpoint, "AZURE_STORAGE_BLOB_ENDPOINT");
    }
    c.endpoint = fmt::format("https://{}.blob.core.windows.net", account);
    return {};
  };
  Credentials c;
  c.account = std::string(account);

  if (secret) {
    std::string_view text = util::trim(*secret);
    constexpr std::string_view where = "the Azure secret";
    if (text.starts_with("{")) {
      auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (json.is_discarded() || !json.is_object() || !json.contains("account_key") ||
          !json["account_key"].is_string()) {
        return fail(ErrorCode::kInvalidArgument,
                    "the Azure secret is not JSON {\"account_key\": \"...\"}: give that, a "
                    "connection string, or a SAS token");
      }
      if (json.contains("account_name") && json["account_name"].is_string()) {
        auto named = json["account_name"].get<std::string>();
        if (auto ok = check_account(account, named, where); !ok) return std::unexpected(ok.error());
      }
      auto key = decode_key(json["account_key"].get<std::string>(), where);
      if (!key) return std::unexpected(key.error());
      c.kind = AuthKind::kSharedKey;
      c.key = std::move(*key);
      c.source = where;
      if (auto ok = default_endpoint(c); !ok) return std::unexpected(ok.error());
      return c;
    }
    std::string lower = util::to_lower(text);
    if (lower.find("accountname=") != std::string::npos ||
        lower.find("blobendpoint=") != std::string::npos ||
        lower.find("usedevelopmentstorage=") != std::string::npos) {
      auto cs = parse_connection_string(text, where);
      if (!cs) return std::unexpected(cs.error());
      return from_connection_string(account, *cs, env, where);
    }
    std::string sas = strip_question(text);
    if (!has_sig(sas)) {
      return fail(ErrorCode::kInvalidArgument,
                  "the Azure secret is neither JSON {\"account_key\": \"...\"}, a connection "
                  "string, nor a SAS token (a SAS has a sig= parameter)");
    }
    c.kind = AuthKind::kSas;
    c.sas = std::move(sas);
    c.source = where;
    if (auto ok = default_endpoint(c); !ok) return std::unexpected(ok.error());
    return c;
  }

  if (env.connection_string) {
    constexpr std::string_view where = "AZURE_STORAGE_CONNECTION_STRING";
    auto cs = parse_connection_string(*env.connection_string, where);
    if (!cs) return std::unexpected(cs.error());
    return from_connection_string(account, *cs, env, where);
  }

  if (env.key) {
    if (env.account) {
      if (auto ok = check_account(account, *env.account, "AZURE_STORAGE_ACCOUNT"); !ok) {
        return std::unexpected(ok.error());
      }
    }
    auto key = decode_key(*env.key, "AZURE_STORAGE_KEY");
    if (!key) return std::unexpected(key.error());
    c.kind = AuthKind::kSharedKey;
    c.key = std::move(*key);
    c.source = "AZURE_STORAGE_KEY";
    if (auto ok = default_endpoint(c); !ok) return std::unexpected(ok.error());
    return c;
  }

  if (env.sas_token) {
    if (env.account) {
      if (auto ok = check_account(account, *env.account, "AZURE_STORAGE_ACCOUNT"); !ok) {
        return std::unexpected(ok.error());
      }
    }
    c.sas = strip_question(*env.sas_token);
    if (!has_sig(c.sas)) {
      return fail(ErrorCode::kInvalidArgument,
                  "AZURE_STORAGE_SAS_TOKEN is not a SAS token (it has no sig= parameter)");
    }
    c.kind = AuthKind::kSas;
    c.source = "AZURE_STORAGE_SAS_TOKEN";
    if (auto ok = default_endpoint(c); !ok) return std::unexpected(ok.error());
    return c;
  }

  c.kind = AuthKind::kAnonymous;
  c.source = "no credentials";
  if (auto ok = default_endpoint(c); !ok) return std::unexpected(ok.error());
  return c;
}

std::string rfc1123_date(std::chrono::system_clock::time_point t) {
  // By hand: strftime's %a and %b follow the process locale.
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} GMT", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string shared_key_string_to_sign(std::string_view account, std::string_view method,
                                      std::string_view url,
                                      const std::vector<std::string>& headers) {
  // Header names lower-cased; repeated headers joined with ',' as HTTP allows.
  std::map<std::string, std::string> by_name;
  for (const auto& h : headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos) continue;
    std::string name = util::to_lower(util::trim(std::string_view(h).substr(0, colon)));
    std::string value(util::trim(std::string_view(h).substr(colon + 1)));
    auto [it, inserted] = by_name.emplace(name, value);
    if (!inserted) it->second += "," + value;
  }
  auto standard = [&](const char* name) -> std::string {
    auto it = by_name.find(name);
    if (it == by_name.end()) return "";
    // Version 2015-02-21 and later: a zero Content-Length is signed as empty.
    if (std::string_view(name) == "content-length" && it->second == "0") return "";
    return it->second;
  };
  std::string out(method);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  out += '\n';
  for (const char* name :
       {"content-encoding", "content-language", "content-length", "content-md5", "content-type",
        "date", "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"}) {
    out += standard(name);
    out += '\n';
  }
  for (const auto& [name, value] : by_name) {  // std::map: sorted by name
    if (name.starts_with("x-ms-")) out += name + ":" + value + "\n";
  }

  // Canonicalized resource: "/" ACCOUNT PATH, then the decoded query parameters.
  std::string_view rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string_view::npos)
    rest.remove_prefix(scheme + 3);
  rest = rest.substr(0, rest.find('#'));
  auto slash = rest.find('/');
  auto qmark = rest.find('?');
  std::string_view path = "/";
  std::string_view query;
  if (slash != std::string_view::npos && (qmark == std::string_view::npos || slash < qmark)) {
    path = rest.substr(slash,
                       qmark == std::string_view::npos ? std::string_view::npos : qmark - slash);
  }
  if (qmark != std::string_view::npos) query = rest.substr(qmark + 1);
  out += "/";
  out += account;
  out += path;
  std::map<std::string, std::vector<std::string>> params;
  if (!query.empty()) {
    for (const auto& item : util::split(query, '&')) {
      if (item.empty()) continue;
      auto eq = item.find('=');
      std::string name = util::to_lower(util::url_decode(item.substr(0, eq)));
      std::string value = eq == std::string::npos ? "" : util::url_decode(item.substr(eq + 1));
      params[name].push_back(std::move(value));
    }
  }
  for (auto& [name, values] : params) {
    std::sort(values.begin(), values.end());
    out += "\n" + name + ":";
    for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
  }
  return out;
}

std::string shared_key_authorization(std::string_view account, std::string_view key,
                                     std::string_view method, std::string_view url,
                                     const std::vector<std::string>& headers) {
  std::string to_sign = shared_key_string_to_sign(account, method, url, headers);
  return fmt::format("Authorization: SharedKey {}:{}", account,
                     util::base64_encode(util::hmac_sha256(key, to_sign)));
}

std::string blob_read_sas(std::string_view account, std::string_view key,
                          std::string_view container, std::string_view blob,
                          std::chrono::system_clock::time_point expiry) {
  const std::string se = iso8601_utc(expiry);
  // Service SAS string-to-sign for version 2020-12-06 and later: sp, st, se,
  // canonicalized resource, si, sip, spr, sv, sr, snapshot time, ses, then the
  // five response-header overrides (rscc, rscd, rsce, rscl, rsct).
  std::string to_sign = fmt::format("r\n\n{}\n/blob/{}/{}/{}\n\n\n\n{}\nb\n\n\n\n\n\n\n", se,
                                    account, container, blob, kApiVersion);
  std::string sig = util::base64_encode(util::hmac_sha256(key, to_sign));
  return fmt::format("sv={}&se={}&sr=b&sp=r&sig={}", kApiVersion, util::url_encode(se),
                     util::url_encode(sig));
}

}  // namespace modelcache::source::azure
