#include "source/s3_source.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <pugixml.hpp>
#include <set>

#include "net/http_client.hpp"
#include "source/aws_sigv4.hpp"
#include "source/origin_errors.hpp"
#include "source/snapshot_id.hpp"
#include "util/hasher.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

// A listing that keeps handing out continuation tokens must end.

std::string strip_quotes(std::string_view etag) {
  etag = util::trim(etag);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

std::string scrub_all(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) text = scrub(std::move(text), s);
  return text;
}

std::string base_name(std::string_view key) {
  auto slash = key.rfind('/');
  return std::string(slash == std::string_view::npos ? key : key.substr(slash + 1));
}

// One listing: credentials, addressing and the client, in one place.
class S3Session {
 public:
  S3Session(const core::Config& config, const core::ModelRef& ref, AwsSettings settings)
      : config_(config),
        client_(config.transfer),
        ref_(ref),
        bucket_(ref.bucket()),
        settings_(std::move(settings)),
        secrets_(secret_values(settings_)) {
    addressing_.endpoint = config.s3_endpoint.empty() ? settings_.profile_endpoint : config.s3_endpoint;
    while (addressing_.endpoint.ends_with('/')) addressing_.endpoint.pop_back();
    addressing_.region = settings_.region;
    if (settings_.credentials) {
      credentials_ = std::make_shared<const AwsCredentials>(*settings_.credentials);
    }
  }

  // Every object whose key starts with `prefix`, all pages of list_page_size keys.
  Result<std::vector<S3Object>> list(std::string_view prefix) const {
    std::vector<S3Object> objects;
    std::set<std::string> tokens;
    std::string token;
    const int page_size = config_.list_page_size;
    for (int page = 0;; ++page) {
      if (page >= kMaxListPages) {
        return fail(ErrorCode::kProtocol,
                    fmt::format("{}: the listing did not end after {} pages", ref_.id(), page));
      }
      std::string url = addressing_.list_url(bucket_, prefix, token, page_size);
      auto response = get(url);
      if (!response) return std::unexpected(response.error());
      if (!response->succeeded()) return std::unexpected(error(*response));
      auto parsed = parse_list_objects_v2(response->body);
      if (!parsed) {
        return fail(parsed.error().code, fmt::format("{}: {}", ref_.id(), parsed.error().message));
      }
      std::move(parsed->objects.begin(), parsed->objects.end(), std::back_inserter(objects));
      if (!parsed->truncated) break;
      if (parsed->next_token.empty() || !tokens.insert(parsed->next_token).second) {
        return fail(ErrorCode::kProtocol,
                    fmt::format("{}: the listing is truncated but gives no new continuation token "
                                "(page {})",
                                ref_.id(), page + 1));
      }
      token = std::move(parsed->next_token);
    }
    return objects;
  }

  RemoteFile file(const S3Object& object, std::string path) const {
    RemoteFile f;
    f.path = std::move(path);
    f.size = object.size;
    f.digest = etag_md5(object.etag);
    f.etag = object.etag;
    f.last_modified = object.last_modified;
    f.url = addressing_.object_url(bucket_, object.key);
    if (credentials_) {
      // A fresh date and signature per request: a signature expires 15 minutes
      // after its date, and a download may take longer than that.
      f.sign = [url = f.url, credentials = credentials_, region = addressing_.region] {
        return sign_get_now(url, *credentials, region);
      };
    }
    return f;
  }

  Error not_found() const {
    std::string where = addressing_.endpoint.empty() ? "" : " at " + addressing_.endpoint;
    return {ErrorCode::kNotFound,
            fmt::format("no object under {}{}: check the prefix (`aws s3 ls {}/`)", ref_.id(), where,
                        ref_.id())};
  }

 private:
  Result<net::HttpResponse> get(const std::string& url) const {
    net::HttpRequest request;
    request.url = url;
    if (credentials_) request.headers = sign_get_now(url, *credentials_, addressing_.region);
    auto response = client_.send(request);
    if (!response) {
      std::string endpoint = net::redact_url(addressing_.bucket_url(bucket_));
      return fail(response.error().code,
                  scrub_all(fmt::format("{}: cannot reach {}: {}", ref_.id(), endpoint,
                                        response.error().message),
                            secrets_));
    }
    return response;
  }

  Error error(const net::HttpResponse& response) const {
    S3ErrorContext context{ref_.id(), bucket_,
                           credentials_ ? credentials_->origin : std::string(),
                           addressing_.region, response.header("x-amz-bucket-region")};
    Error e = s3_error(response.status, response.body, context);
    e.message = scrub_all(std::move(e.message), secrets_);
    return e;
  }

  const core::Config& config_;
  net::HttpClient client_;
  const core::ModelRef& ref_;
  std::string bucket_;
  AwsSettings settings_;
  std::vector<std::string> secrets_;
  std::shared_ptr<const AwsCredentials> credentials_;
  S3Addressing addressing_;
};

}  // namespace

S3Source::S3Source(const core::Config& config) : S3Source(config, [](const char* name) {
  return util::env(name);
}) {}

S3Source::S3Source(const core::Config& config, EnvLookup env) : config_(config), env_(std::move(env)) {}

Result<Listing> S3Source::list(const core::ModelRef& ref, const ListOptions& options) {
  if (ref.kind != core::RefKind::kS3) return fail(ErrorCode::kInternal, "S3Source asked to list " + ref.id());
  auto settings = resolve_aws_settings(options.secret, env_);
  if (!settings) {
    return fail(settings.error().code, fmt::format("{}: {}", ref.id(), settings.error().message));
  }
  S3Session session(config_, ref, std::move(*settings));
  const std::string prefix = ref.prefix();

  // Which keys the prefix names (see the header): a directory, or one object.
  // One listing of the prefix as given answers both: PREFIX/... are the
  // directory's objects, the key PREFIX itself is the single object; other keys
  // that merely start with the same letters ("model-v2/" for "model") are skipped.
  auto listed = session.list(prefix);
  if (!listed) return std::unexpected(listed.error());
  std::vector<S3Object> objects;
  std::vector<RemoteFile> files;
  const std::string directory = prefix.empty() || prefix.ends_with('/') ? prefix : prefix + "/";
  std::optional<S3Object> exact;
  for (auto& object : *listed) {
    if (object.key == prefix && !prefix.ends_with('/')) {
      exact = std::move(object);
      continue;
    }
    if (object.key.ends_with('/') || !object.key.starts_with(directory)) continue;  // markers, siblings
    files.push_back(session.file(object, object.key.substr(directory.size())));
    objects.push_back(std::move(object));
  }
  if (files.empty() && exact) {
    files.push_back(session.file(*exact, base_name(prefix)));
    objects.push_back(std::move(*exact));
  }
  if (files.empty()) return std::unexpected(session.not_found());

  std::sort(objects.begin(), objects.end(),
            [](const S3Object& a, const S3Object& b) { return a.key < b.key; });
  std::string material = "s3://" + ref.bucket() + "\n";
  for (const auto& o : objects) {
    material += fmt::format("{}\t{}\t{}\n", o.key, o.size, o.etag);
  }
  return Listing{derived_snapshot_id(material), ref.revision, std::move(files)};
}

// ---- pure pieces ----

Result<S3ListPage> parse_list_objects_v2(std::string_view xml) {
  pugi::xml_document doc;
  auto parsed = doc.load_buffer(xml.data(), xml.size());
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!parsed || !root) {
    return fail(ErrorCode::kProtocol, "the answer to ListObjectsV2 is not a ListBucketResult document");
  }
  S3ListPage page;
  page.truncated = util::to_lower(util::trim(root.child_value("IsTruncated"))) == "true";
  page.next_token = root.child_value("NextContinuationToken");
  for (pugi::xml_node c : root.children("Contents")) {
    S3Object o;
    o.key = c.child_value("Key");
    auto size = util::parse_int(util::trim(c.child_value("Size")));
    if (o.key.empty() || !size || *size < 0) {
      return fail(ErrorCode::kProtocol,
                  fmt::format("ListObjectsV2 lists an object without a key or size ('{}')",
                              printable(o.key, 100)));
    }
    o.size = static_cast<std::uint64_t>(*size);
    o.etag = strip_quotes(c.child_value("ETag"));
    o.last_modified = c.child_value("LastModified");
    page.objects.push_back(std::move(o));
  }
  return page;
}

std::optional<core::Digest> etag_md5(std::string_view etag) {
  std::string e = util::to_lower(strip_quotes(etag));
  if (!util::is_hex(e, 32)) return std::nullopt;
  return core::Digest{core::DigestAlgo::kMd5, e};
}

Error s3_error(long status, std::string_view body, const S3ErrorContext& c) {
  std::string code, message, region;
  pugi::xml_document doc;
  if (doc.load_buffer(body.data(), body.size())) {
    pugi::xml_node e = doc.child("Error");
    code = util::trim(e.child_value("Code"));
    message = util::trim(e.child_value("Message"));
    region = util::trim(e.child_value("Region"));
  }
  if (c.bucket_region) region = *c.bucket_region;
  const std::string what = printable(c.subject);
  const bool anonymous = c.credentials_origin.empty();
  const std::string from = anonymous ? "" : " from " + c.credentials_origin;

  if (code == "InvalidAccessKeyId") {
    return {ErrorCode::kUnauthorized,
            fmt::format("{}: S3 does not know the access key id{} (InvalidAccessKeyId): check the "
                        "key",
                        what, from)};
  }
  if (code == "SignatureDoesNotMatch") {
    return {ErrorCode::kUnauthorized,
            fmt::format("{}: the secret access key{} does not match its key id "
                        "(SignatureDoesNotMatch): check the key",
                        what, from)};
  }
  if (code == "ExpiredToken" || code == "TokenRefreshRequired" || code == "InvalidToken") {
    return {ErrorCode::kUnauthorized,
            fmt::format("{}: the session token{} has expired or is invalid ({}): get fresh "
                        "credentials and set AWS_SESSION_TOKEN (or the secret) again",
                        what, from, code)};
  }
  if (code == "RequestTimeTooSkewed") {
    return {ErrorCode::kUnauthorized,
            fmt::format("{}: this machine's clock differs from S3's by more than 15 minutes "
                        "(RequestTimeTooSkewed): fix the clock",
                        what)};
  }
  if (code == "AccessDenied" || code == "AllAccessDisabled" ||
      (code.empty() && status == 403)) {
    if (anonymous) {
      return {ErrorCode::kUnauthorized,
              fmt::format("{}: access denied to an anonymous request ({}): no AWS credentials "
                          "were found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                          "AWS_PROFILE, or pass a secret",
                          what, code.empty() ? "HTTP 403" : code)};
    }
    return {ErrorCode::kForbidden,
            fmt::format("{}: access denied ({}) for the credentials{}: they need s3:ListBucket on "
                        "bucket {} and s3:GetObject on its objects",
                        what, code.empty() ? "HTTP 403" : code, from, printable(c.bucket))};
  }
  if (code == "NoSuchBucket") {
    return {ErrorCode::kNotFound,
            fmt::format("{}: bucket {} does not exist (NoSuchBucket): check the bucket name "
                        "(and AWS_ENDPOINT_URL for S3-compatible stores)",
                        what, printable(c.bucket))};
  }
  if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" ||
      code == "IllegalLocationConstraintException" || status == 301) {
    std::string fix = region.empty() || region == c.region
                          ? "set AWS_REGION to the bucket's region"
                          : "set AWS_REGION=" + printable(region, 40);
    return {ErrorCode::kInvalidArgument,
            fmt::format("{}: bucket {} is not in region {} ({}): {}", what, printable(c.bucket),
                        printable(c.region, 40), code.empty() ? "HTTP 301" : code, fix)};
  }
  Error e = status_error(status, what, anonymous ? TokenSent::kNo : TokenSent::kYes);
  if (!code.empty()) {
    e.message += fmt::format(" ({}{}{})", printable(code, 60), message.empty() ? "" : ": ",
                             printable(message, 120));
  }
  return e;
}

std::string S3Addressing::bucket_url(std::string_view bucket) const {
  std::string b = aws_uri_encode(bucket, Slash::kEncode);
  if (!endpoint.empty()) return fmt::format("{}/{}", endpoint, b);
  // A bucket name with dots does not match the wildcard certificate of the
  // virtual host; the path style still works for it.
  if (bucket.find('.') != std::string_view::npos) {
    return fmt::format("https://s3.{}.amazonaws.com/{}", region, b);
  }
  return fmt::format("https://{}.s3.{}.amazonaws.com", b, region);
}

std::string S3Addressing::object_url(std::string_view bucket, std::string_view key) const {
  return bucket_url(bucket) + "/" + aws_uri_encode(key, Slash::kKeep);
}

std::string S3Addressing::list_url(std::string_view bucket, std::string_view prefix,
                                   std::string_view token, int max_keys) const {
  std::string base = bucket_url(bucket);
  // Virtual-hosted: the bucket is the host, the path is "/". Path style: "/BUCKET".
  if (endpoint.empty() && bucket.find('.') == std::string_view::npos) base += "/";
  // Keys in canonical (sorted) order, values encoded as SigV4 signs them.
  std::string query;
  if (!token.empty()) query += "continuation-token=" + aws_uri_encode(token, Slash::kEncode) + "&";
  query += "list-type=2&max-keys=" + std::to_string(max_keys);
  if (!prefix.empty()) query += "&prefix=" + aws_uri_encode(prefix, Slash::kEncode);
  return base + "?" + query;
}

}  // namespace modelcache::source
