#include "source/gcs_source.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "net/http_client.hpp"
#include "source/gcs_auth.hpp"
#include "source/origin_errors.hpp"
#include "source/snapshot_id.hpp"
#include "util/base64.hpp"
#include "util/hasher.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

using Json = nlohmann::json;

constexpr std::string_view kListFields =
    "items(name,size,generation,md5Hash,crc32c,etag,updated),nextPageToken";
constexpr std::string_view kObjectFields = "name,size,generation,md5Hash,crc32c,etag,updated";

// GCS writes int64/uint64 fields (size, generation) as JSON strings.
std::optional<std::string> decimal_field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  std::string text;
  if (it->is_string()) {
    text = it->get<std::string>();
  } else if (it->is_number_unsigned()) {
    text = std::to_string(it->get<std::uint64_t>());
  } else {
    return std::nullopt;
  }
  if (text.empty() || text.size() > 20 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return text;
}

std::string string_field(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<GcsObject> object_from_json(const Json& j, std::string_view where) {
  auto bad = [&](std::string_view what) {
    return fail(ErrorCode::kProtocol,
                fmt::format("{}: the listing has an object with {}", where, what));
  };
  if (!j.is_object()) return bad("a non-object entry");
  GcsObject o;
  o.name = string_field(j, "name");
  if (o.name.empty()) return bad("no name");
  auto size = decimal_field(j, "size");
  auto generation = decimal_field(j, "generation");
  if (!size) return bad(fmt::format("no valid size ({})", printable(o.name)));
  if (!generation) return bad(fmt::format("no valid generation ({})", printable(o.name)));
  auto parsed = util::parse_int(*size);
  if (!parsed || *parsed < 0)
    return bad(fmt::format("an out-of-range size ({})", printable(o.name)));
  o.size = static_cast<std::uint64_t>(*parsed);
  o.generation = *generation;
  if (std::string md5 = string_field(j, "md5Hash"); !md5.empty()) {
    auto hex = util::base64_to_hex(md5, 16);
    if (!hex) return bad(fmt::format("a malformed md5Hash ({})", printable(o.name)));
    o.digest = core::Digest{core::DigestAlgo::kMd5, *hex};
  } else if (std::string crc = string_field(j, "crc32c"); !crc.empty()) {
    auto hex = util::base64_to_hex(crc, 4);
    if (!hex) return bad(fmt::format("a malformed crc32c ({})", printable(o.name)));
    o.digest = core::Digest{core::DigestAlgo::kCrc32c, *hex};
  }
  o.etag = string_field(j, "etag");
  o.updated = string_field(j, "updated");
  return o;
}

// Who the requests were made as, for errors: never the credential itself.
std::string principal(const GcsCredentials& creds) {
  switch (creds.kind) {
    case GcsAuthKind::kServiceAccount:
      return "service account " + printable(creds.account.client_email);
    case GcsAuthKind::kAccessToken:
      return "the access token from " + creds.origin;
    case GcsAuthKind::kNone:
      break;
  }
  return "anonymous requests";
}

std::string token_description(const GcsCredentials& creds) {
  if (creds.kind == GcsAuthKind::kServiceAccount) {
    return "the access token of service account " + printable(creds.account.client_email);
  }
  return "the access token from " + creds.origin;
}

// One listing: endpoint, credentials and client in one place.
class GcsSession {
 public:
  GcsSession(std::string endpoint, const core::TransferSettings& transfer, GcsCredentials creds,
             std::string bucket)
      : endpoint_(std::move(endpoint)),
        client_(transfer),
        creds_(std::move(creds)),
        bucket_(std::move(bucket)) {}

  Status authenticate(const core::TransferSettings& transfer) {
    if (creds_.kind == GcsAuthKind::kAccessToken) {
      token_ = creds_.access_token;
    } else if (creds_.kind == GcsAuthKind::kServiceAccount) {
      auto token = service_account_token(creds_.account, transfer);
      if (!token) return std::unexpected(token.error());
      token_ = std::move(*token);
    }
    return {};
  }

  std::vector<std::string> auth_headers() const {
    if (!token_) return {};
    return {"Authorization: Bearer " + *token_};
  }

  // Service-account tokens live an hour: each request of a long download asks the
  // token cache, which exchanges a new JWT 60 s before the old token expires.
  // Empty for plain tokens (nothing to refresh them with) and anonymous access.
  std::function<std::vector<std::string>()> signer(const core::TransferSettings& transfer) const {
    if (creds_.kind != GcsAuthKind::kServiceAccount) return {};
    auto account = std::make_shared<const ServiceAccount>(creds_.account);
    return [account, transfer, fallback = auth_headers()] {
      auto token = service_account_token(*account, transfer);
      // A failed refresh sends the old token: the origin's 401 then ends the download.
      if (!token) return fallback;
      return std::vector<std::string>{"Authorization: Bearer " + *token};
    };
  }

  std::string bucket_url() const {
    return fmt::format("{}/storage/v1/b/{}", endpoint_, util::url_encode(bucket_));
  }

  Result<net::HttpResponse> get(const std::string& url) const {
    net::HttpRequest request{.url = url, .headers = auth_headers()};
    request.headers.push_back("Accept: application/json");
    auto response = client_.send(request);
    if (!response) {
      return fail(
          response.error().code,
          scrub(fmt::format("cannot reach {}: {}", endpoint_, response.error().message), token_));
    }
    return response;
  }

  // `subject` is what was asked for ("gs://b/p").
  Error error(const net::HttpResponse& response, std::string_view subject) const {
    std::string message;
    Json body = Json::parse(response.body, nullptr, false);
    if (body.is_object() && body.contains("error") && body["error"].is_object()) {
      message = string_field(body["error"], "message");
    }
    message = printable(scrub(message, token_), 160);
    std::string said = message.empty() ? "" : fmt::format(" ({})", message);
    std::string what = printable(subject);
    switch (response.status) {
      case 401:
        if (creds_.kind == GcsAuthKind::kNone) {
          return {ErrorCode::kUnauthorized,
                  fmt::format("{}: authentication required (HTTP 401){}: set "
                              "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, set "
                              "GOOGLE_OAUTH_ACCESS_TOKEN, or pass a secret",
                              what, said)};
        }
        return {ErrorCode::kUnauthorized,
                fmt::format("{}: {} was rejected (HTTP 401){}: it is invalid or expired; "
                            "use a fresh token or a service-account key",
                            what, token_description(creds_), said)};
      case 403:
        return {ErrorCode::kForbidden,
                fmt::format("{}: access denied (HTTP 403) to {}{}: it needs storage.objects.list "
                            "and storage.objects.get on bucket {} (roles/storage.objectViewer)",
                            what, principal(creds_), said, printable(bucket_))};
      case 404:
        return {ErrorCode::kNotFound,
                fmt::format("{}: bucket {} not found (HTTP 404){}; check the bucket name", what,
                            printable(bucket_), said)};
      default:
        break;
    }
    Error e = status_error(response.status, subject, token_ ? TokenSent::kYes : TokenSent::kNo);
    e.message += said;
    return e;
  }

  Result<std::vector<GcsObject>> list_prefix(const std::string& prefix, int page_size,
                                             std::string_view subject) const {
    std::vector<GcsObject> objects;
    std::set<std::string> seen_tokens;
    std::string page_token;
    for (int page = 0;; ++page) {
      if (page >= kMaxListPages) {
        return fail(ErrorCode::kProtocol,
                    fmt::format("{}: the listing does not end after {} pages", subject, page));
      }
      std::string url =
          fmt::format("{}/o?prefix={}&maxResults={}&fields={}", bucket_url(),
                      util::url_encode(prefix), page_size, util::url_encode(kListFields));
      if (!page_token.empty()) url += "&pageToken=" + util::url_encode(page_token);
      auto response = get(url);
      if (!response) return std::unexpected(response.error());
      if (!response->succeeded()) return std::unexpected(error(*response, subject));
      auto parsed = parse_gcs_list_page(response->body, subject);
      if (!parsed) return std::unexpected(parsed.error());
      std::move(parsed->objects.begin(), parsed->objects.end(), std::back_inserter(objects));
      if (parsed->next_page_token.empty()) break;
      if (!seen_tokens.insert(parsed->next_page_token).second) {
        return fail(
            ErrorCode::kProtocol,
            fmt::format("{}: the listing repeats a page token (page {})", subject, page + 2));
      }
      page_token = std::move(parsed->next_page_token);
    }
    return objects;
  }

  // nullopt: no such object.
  Result<std::optional<GcsObject>> get_object(const std::string& name,
                                              std::string_view subject) const {
    auto response = get(fmt::format("{}/o/{}?fields={}", bucket_url(), util::url_encode(name),
                                    util::url_encode(kObjectFields)));
    if (!response) return std::unexpected(response.error());
    if (response->status == 404) return std::optional<GcsObject>();
    if (!response->succeeded()) return std::unexpected(error(*response, subject));
    auto object = parse_gcs_object(response->body, subject);
    if (!object) return std::unexpected(object.error());
    return std::optional(std::move(*object));
  }

 private:
  std::string endpoint_;
  net::HttpClient client_;
  GcsCredentials creds_;
  std::string bucket_;
  std::optional<std::string> token_;
};

}  // namespace

Result<GcsPage> parse_gcs_list_page(std::string_view body, std::string_view where) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_object()) {
    return fail(ErrorCode::kProtocol, fmt::format("{}: the listing is not a JSON object", where));
  }
  GcsPage page;
  if (auto it = j.find("items"); it != j.end()) {
    if (!it->is_array()) {
      return fail(ErrorCode::kProtocol,
                  fmt::format("{}: the listing's items is not a list", where));
    }
    for (const auto& item : *it) {
      auto object = object_from_json(item, where);
      if (!object) return std::unexpected(object.error());
      page.objects.push_back(std::move(*object));
    }
  }
  page.next_page_token = string_field(j, "nextPageToken");
  return page;
}

Result<GcsObject> parse_gcs_object(std::string_view body, std::string_view where) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_object()) {
    return fail(ErrorCode::kProtocol,
                fmt::format("{}: the object metadata is not a JSON object", where));
  }
  return object_from_json(j, where);
}

std::string gcs_media_url(std::string_view endpoint, std::string_view bucket, std::string_view name,
                          std::string_view generation) {
  return fmt::format("{}/storage/v1/b/{}/o/{}?alt=media&generation={}", endpoint,
                     util::url_encode(bucket), util::url_encode(name), generation);
}

GcsSource::GcsSource(const core::Config& config)
    : endpoint_(config.gcs_endpoint),
      transfer_(config.transfer),
      page_size_(config.list_page_size) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

Result<Listing> GcsSource::list(const core::ModelRef& ref, const ListOptions& options) {
  if (ref.kind != core::RefKind::kGcs) {
    return fail(ErrorCode::kInternal, "GcsSource asked to list " + ref.id());
  }
  const std::string bucket = ref.bucket();
  const std::string prefix = ref.prefix();
  const std::string subject = ref.id();
  auto creds = resolve_gcs_credentials(options.secret, GcsCredentialEnv::from_environment());
  if (!creds) return std::unexpected(creds.error());
  GcsSession session(endpoint_, transfer_, *creds, bucket);
  if (auto s = session.authenticate(transfer_); !s) return std::unexpected(s.error());

  const std::string folder = prefix.empty() || prefix.ends_with('/') ? prefix : prefix + "/";
  auto objects = session.list_prefix(folder, page_size_, subject);
  if (!objects) return std::unexpected(objects.error());
  std::erase_if(*objects, [](const GcsObject& o) { return o.name.ends_with('/'); });
  std::size_t strip = folder.size();
  if (objects->empty() && folder != prefix) {
    auto single = session.get_object(prefix, subject);
    if (!single) return std::unexpected(single.error());
    if (*single) {
      objects->push_back(std::move(**single));
      strip = prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/') + 1;
    }
  }
  if (objects->empty()) {
    std::string message;
    if (prefix.empty()) {
      message = fmt::format("{}: the bucket has no objects", printable(subject));
    } else if (folder == prefix) {
      message = fmt::format("{}: no object under {} in bucket {}; check the prefix",
                            printable(subject), printable(folder), printable(bucket));
    } else {
      message =
          fmt::format("{}: no object named {} or under {} in bucket {}; check the prefix",
                      printable(subject), printable(prefix), printable(folder), printable(bucket));
    }
    return fail(ErrorCode::kEntryNotFound, std::move(message));
  }
  std::sort(objects->begin(), objects->end(),
            [](const GcsObject& a, const GcsObject& b) { return a.name < b.name; });
  const auto sign = session.signer(transfer_);
  std::string material = "gs\n" + bucket + "\n" + folder + "\n";
  Listing listing{"", "", {}};
  for (auto& o : *objects) {
    material += o.name + '\0' + std::to_string(o.size) + '\0' + o.generation + '\n';
    RemoteFile file;
    file.path = o.name.substr(strip);
    file.size = o.size;
    file.digest = o.digest;
    file.url = gcs_media_url(endpoint_, bucket, o.name, o.generation);
    file.headers = session.auth_headers();
    file.sign = sign;
    // The generation names this exact content; the manifest records it.
    file.etag = o.generation;
    file.last_modified = o.updated;
    listing.files.push_back(std::move(file));
  }
  listing.snapshot_id = derived_snapshot_id(material);
  return listing;
}

}  // namespace modelcache::source
