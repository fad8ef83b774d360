#include "source/http_source.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include "net/http_client.hpp"
#include "source/origin_errors.hpp"
#include "source/snapshot_id.hpp"
#include "util/base64.hpp"
#include "util/hasher.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

// Servers that refuse HEAD: 405/501 by the book, 403 from URLs pre-signed for GET only.
bool head_refused(long status) { return status == 405 || status == 501 || status == 403; }


// "bytes 0-0/1234" -> 1234; "bytes 0-0/*" -> nullopt.
std::optional<std::uint64_t> content_range_total(std::string_view value) {
  auto slash = value.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return util::parse_u64(util::trim(value.substr(slash + 1)));
}

// RFC 3230 "Digest: sha-256=<b64>" or RFC 9530 "Repr-Digest: sha-256=:<b64>:".
std::optional<core::Digest> promised_sha256(const net::HttpResponse& response) {
  for (const char* name : {"repr-digest", "digest"}) {
    auto value = response.header(name);
    if (!value) continue;
    for (const auto& item : util::split(*value, ',')) {
      std::string_view part = util::trim(item);
      auto eq = part.find('=');
      if (eq == std::string_view::npos || !util::iequals(part.substr(0, eq), "sha-256")) continue;
      std::string_view b64 = part.substr(eq + 1);
      if (b64.size() >= 2 && b64.front() == ':' && b64.back() == ':') {
        b64 = b64.substr(1, b64.size() - 2);
      }
      if (auto hex = util::base64_to_hex(b64, 32)) {
        return core::Digest{core::DigestAlgo::kSha256, *hex};
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::string url_file_name(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  auto scheme = url.find("://");
  std::string_view path = url.substr(scheme == std::string_view::npos ? 0 : scheme + 3);
  auto slash = path.find('/');
  if (slash == std::string_view::npos) return {};
  path.remove_prefix(slash);
  return util::url_decode(path.substr(path.rfind('/') + 1));
}

HttpSource::HttpSource(const core::Config& config) : transfer_(config.transfer) {}

Result<Listing> HttpSource::list(const core::ModelRef& ref, const ListOptions& /*options*/) {
  const std::string& url = ref.repo;
  std::string shown = net::redact_url(url);
  RemoteFile file;
  file.path = url_file_name(url);
  if (file.path.empty()) {
    return fail(ErrorCode::kInvalidRef,
                fmt::format("{} names no file (the path must end in a file name)", shown));
  }
  net::HttpClient client(transfer_);
  net::HttpRequest head{.method = "HEAD", .url = url};
  auto response = client.send(head);
  if (response && head_refused(response->status)) {
    net::HttpRequest probe{.method = "GET", .url = url, .headers = {"Range: bytes=0-0"}};
    response = client.send(probe);
  }
  if (!response) return std::unexpected(response.error());
  if (!response->succeeded()) {
    return std::unexpected(status_error(response->status, shown, TokenSent::kNo));
  }
  if (response->status == 206) {
    if (auto range = response->header("content-range")) {
      file.size = content_range_total(*range).value_or(kUnknownSize);
    }
  } else if (auto length = response->header("content-length")) {
    file.size = util::parse_u64(util::trim(*length)).value_or(kUnknownSize);
  }
  file.etag = response->header("etag").value_or("");
  file.last_modified = response->header("last-modified").value_or("");
  file.digest = promised_sha256(*response);
  // The original URL, not the redirect target: pre-signed targets expire.
  file.url = url;
  std::string size_text = file.size == kUnknownSize ? "" : std::to_string(file.size);
  std::string id = derived_snapshot_id(
      fmt::format("{}\n{}\n{}\n{}", url, file.etag, file.last_modified, size_text));
  return Listing{std::move(id), "", {std::move(file)}};
}

}  // namespace modelcache::source
