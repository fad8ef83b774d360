#include "source/azure_source.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <pugixml.hpp>
#include <set>
#include <utility>

#include "source/origin_errors.hpp"
#include "source/snapshot_id.hpp"
#include "util/base64.hpp"
#include "util/hasher.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

// A server that hands out the same marker forever must not keep us listing.
constexpr int kMaxPages = 1000000;


// <Name Encoded="true">: names with characters XML cannot carry come percent-encoded.
std::string blob_name(const pugi::xml_node& name) {
  std::string text = name.child_value();
  if (util::iequals(name.attribute("Encoded").value(), "true")) return util::url_decode(text);
  return text;
}

std::string scrub_all(std::string text, const azure::Credentials& credentials) {
  for (const auto& secret : credentials.secrets()) text = scrub(std::move(text), secret);
  return text;
}

std::string credential_variables() {
  return "AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY, or "
         "AZURE_STORAGE_SAS_TOKEN";
}

// One listing: the credentials, the client and the subject of errors, in one place.
class AzureSession {
 public:
  AzureSession(const core::TransferSettings& transfer, azure::Credentials credentials,
               std::string container, std::string subject)
      : client_(transfer),
        creds_(std::move(credentials)),
        container_(std::move(container)),
        subject_(std::move(subject)) {}

  const azure::Credentials& credentials() const { return creds_; }

  std::string container_url() const {
    return creds_.endpoint + "/" + util::url_encode(container_, "$");
  }

  Result<AzureBlobPage> list_page(std::string_view prefix, int page_size,
                                  std::string_view marker) const {
    std::string url = container_url() + "?restype=container&comp=list";
    if (!prefix.empty()) url += "&prefix=" + util::url_encode(prefix);
    url += fmt::format("&maxresults={}", page_size);
    if (!marker.empty()) url += "&marker=" + util::url_encode(marker);
    if (creds_.kind == azure::AuthKind::kSas) url += "&" + creds_.sas;
    net::HttpRequest request{.method = "GET", .url = url};
    request.headers = {fmt::format("x-ms-version: {}", azure::kApiVersion),
                       "x-ms-date: " + azure::rfc1123_date(std::chrono::system_clock::now())};
    if (creds_.kind == azure::AuthKind::kSharedKey) {
      request.headers.push_back(
          azure::shared_key_authorization(creds_.account, creds_.key, "GET", url, request.headers));
    }
    auto response = client_.send(request);
    if (!response) {
      return fail(response.error().code,
                  scrub_all(fmt::format("{}: cannot reach {}: {}", subject_,
                                        net::redact_url(creds_.endpoint), response.error().message),
                            creds_));
    }
    if (!response->succeeded()) {
      return std::unexpected(azure_list_error(response->status, azure_error_code(*response),
                                              subject_, container_, creds_));
    }
    auto page = parse_azure_blob_list(response->body);
    if (!page) {
      return fail(page.error().code, subject_ + ": " + page.error().message);
    }
    return page;
  }

  RemoteFile remote_file(const AzureBlob& blob, std::string path,
                         std::chrono::system_clock::time_point sas_expiry) const {
    RemoteFile f;
    f.path = std::move(path);
    f.size = blob.size;
    if (!blob.md5_hex.empty()) f.digest = core::Digest{core::DigestAlgo::kMd5, blob.md5_hex};
    f.url = container_url() + "/" + util::url_encode(blob.name, "/");
    switch (creds_.kind) {
      case azure::AuthKind::kSharedKey:
        f.url += "?" + azure::blob_read_sas(creds_.account, creds_.key, container_, blob.name,
                                            sas_expiry);
        break;
      case azure::AuthKind::kSas:
        f.url += "?" + creds_.sas;
        break;
      case azure::AuthKind::kAnonymous:
        break;
    }
    f.headers = {fmt::format("x-ms-version: {}", azure::kApiVersion)};
    f.etag = blob.etag;
    f.last_modified = blob.last_modified;
    return f;
  }

 private:
  net::HttpClient client_;
  azure::Credentials creds_;
  std::string container_;
  std::string subject_;
};

}  // namespace

Result<AzureBlobPage> parse_azure_blob_list(std::string_view xml) {
  pugi::xml_document doc;
  auto parsed = doc.load_buffer(xml.data(), xml.size());
  auto root = doc.child("EnumerationResults");
  if (!parsed || !root) {
    return fail(ErrorCode::kProtocol,
                "the List Blobs answer is not an EnumerationResults document");
  }
  AzureBlobPage page;
  for (auto node : root.child("Blobs").children("Blob")) {
    AzureBlob blob;
    blob.name = blob_name(node.child("Name"));
    auto props = node.child("Properties");
    auto size = util::parse_u64(util::trim(props.child_value("Content-Length")));
    if (blob.name.empty() || !size) {
      return fail(ErrorCode::kProtocol,
                  "the List Blobs answer has a blob without a name or a Content-Length");
    }
    blob.size = *size;
    blob.etag = props.child_value("Etag");
    blob.last_modified = props.child_value("Last-Modified");
    std::string md5_b64 = util::trim(props.child_value("Content-MD5")).data();
    if (!md5_b64.empty()) {
      // A Content-MD5 that is not 16 bytes of base64 promises nothing we can check.
      if (auto raw = util::base64_decode(md5_b64); raw && raw->size() == 16) {
        blob.md5_hex =
            util::to_hex(reinterpret_cast<const unsigned char*>(raw->data()), raw->size());
      }
    }
    page.blobs.push_back(std::move(blob));
  }
  page.next_marker = util::trim(root.child_value("NextMarker"));
  return page;
}

std::string azure_error_code(const net::HttpResponse& response) {
  if (auto code = response.header("x-ms-error-code"); code && !code->empty()) {
    return printable(util::trim(*code), 80);
  }
  pugi::xml_document doc;
  if (doc.load_buffer(response.body.data(), response.body.size())) {
    std::string code = util::trim(doc.child("Error").child_value("Code")).data();
    if (!code.empty()) return printable(code, 80);
  }
  return "";
}

Error azure_list_error(long status, std::string_view code, std::string_view subject,
                       std::string_view container, const azure::Credentials& creds) {
  const bool anonymous = creds.kind == azure::AuthKind::kAnonymous;
  const std::string what = printable(subject);
  const std::string with_code =
      code.empty() ? fmt::format("HTTP {}", status) : fmt::format("HTTP {} {}", status, code);
  // A bad key: Azure says 403 AuthenticationFailed, Azurite 403 AuthorizationFailure.
  // An account key may do anything, so any 403 to a SharedKey request means the key.
  if (!anonymous && (code == "AuthenticationFailed" || status == 401 ||
                     (status == 403 && creds.kind == azure::AuthKind::kSharedKey))) {
    std::string fix = creds.kind == azure::AuthKind::kSas
                          ? "check the SAS token (expired? made for another account?)"
                          : fmt::format(
                                "check the account key: it must be key1 or key2 of "
                                "storage account '{}'",
                                creds.account);
    return {ErrorCode::kUnauthorized,
            fmt::format("{}: the storage account rejected the credentials from {} ({}): {}", what,
                        creds.source, with_code, fix)};
  }
  if (code == "ContainerNotFound") {
    return {ErrorCode::kNotFound,
            fmt::format("{}: container '{}' does not exist in storage account '{}' ({}): check "
                        "the container name",
                        what, printable(container), creds.account, with_code)};
  }
  if (anonymous && (status == 401 || status == 403 || status == 404 || status == 409)) {
    // Azure answers anonymous requests for a private container as if it did not exist.
    return {status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnauthorized,
            fmt::format("{}: no credentials were sent and the container is missing or not "
                        "public ({}): set {}",
                        what, with_code, credential_variables())};
  }
  if (status == 403) {
    return {ErrorCode::kForbidden,
            fmt::format("{}: the SAS token from {} was refused ({}): check that it has not "
                        "expired and grants list (l) and read (r) on the container",
                        what, creds.source, with_code)};
  }
  if (code == "ResourceNotFound" || code == "AccountNotFound" || status == 404) {
    return {ErrorCode::kNotFound,
            fmt::format("{}: not found ({}): check the account name and the blob endpoint {}", what,
                        with_code, net::redact_url(creds.endpoint))};
  }
  Error e = status_error(status, subject, TokenSent::kYes);
  if (!code.empty()) e.message += fmt::format(" ({})", code);
  return e;
}

std::vector<SelectedBlob> select_azure_blobs(const std::vector<AzureBlob>& blobs,
                                             std::string_view prefix) {
  // Folder first, as S3 and GCS do: PREFIX/... when anything is there; the blob
  // named exactly PREFIX only when the folder is empty. Siblings that merely
  // start with the same letters ("llama-v2/" for "llama") never count.
  std::vector<SelectedBlob> out;
  std::string dir(prefix);
  if (!dir.empty() && !dir.ends_with('/')) dir += '/';
  const AzureBlob* exact = nullptr;
  for (const auto& b : blobs) {
    if (!prefix.ends_with('/') && !prefix.empty() && b.name == prefix) exact = &b;
    if (!b.name.starts_with(dir) || b.name.ends_with('/')) continue;
    out.push_back({&b, b.name.substr(dir.size())});
  }
  if (out.empty() && exact) {
    auto slash = prefix.rfind('/');
    out.push_back(
        {exact, std::string(slash == std::string_view::npos ? prefix : prefix.substr(slash + 1))});
  }
  return out;
}

AzureSource::AzureSource(const core::Config& config)
    : transfer_(config.transfer), page_size_(config.list_page_size) {}

AzureSource::AzureSource(const core::Config& config, azure::Environment env)
    : transfer_(config.transfer), page_size_(config.list_page_size), env_(std::move(env)) {}

Result<Listing> AzureSource::list(const core::ModelRef& ref, const ListOptions& options) {
  const std::string bucket = ref.bucket();  // "ACCOUNT/CONTAINER"
  const auto slash = bucket.find('/');
  const std::string account = bucket.substr(0, slash);
  const std::string container = slash == std::string::npos ? "" : bucket.substr(slash + 1);
  const std::string prefix = ref.prefix();
  const std::string subject = ref.id();
  if (account.empty() || container.empty()) {
    return fail(ErrorCode::kInvalidRef,
                fmt::format("{}: expected az://ACCOUNT/CONTAINER[/PREFIX]", printable(subject)));
  }
  auto creds = azure::resolve_credentials(account, options.secret,
                                          env_ ? *env_ : azure::Environment::from_process());
  if (!creds) {
    return fail(creds.error().code,
                fmt::format("{}: {}", printable(subject), creds.error().message));
  }
  AzureSession session(transfer_, std::move(*creds), container, subject);

  // A prefix without '/' may name one blob or a directory: list from the bare
  // prefix and let select_azure_blobs() decide.
  std::vector<AzureBlob> blobs;
  std::string marker;
  std::set<std::string> seen_markers;
  for (int page_no = 0;; ++page_no) {
    if (page_no >= kMaxPages) {
      return fail(ErrorCode::kProtocol, subject + ": the listing never ends (too many pages)");
    }
    auto page = session.list_page(prefix, page_size_, marker);
    if (!page) return std::unexpected(page.error());
    for (auto& b : page->blobs) blobs.push_back(std::move(b));
    if (page->next_marker.empty()) break;
    if (!seen_markers.insert(page->next_marker).second) {
      return fail(ErrorCode::kProtocol, subject + ": the listing repeats a NextMarker");
    }
    marker = std::move(page->next_marker);
  }
  std::sort(blobs.begin(), blobs.end(),
            [](const AzureBlob& a, const AzureBlob& b) { return a.name < b.name; });

  auto selected = select_azure_blobs(blobs, prefix);
  if (selected.empty()) {
    return fail(ErrorCode::kNotFound,
                fmt::format("no blob under {}: check the prefix (blob names are case-sensitive)",
                            printable(subject)));
  }
  std::string material;
  Listing listing;
  const auto sas_expiry = std::chrono::system_clock::now() + kDownloadSasLifetime;
  for (auto& s : selected) {
    material += fmt::format("{}\n{}\n{}\n", s.blob->name, s.blob->size, s.blob->etag);
    listing.files.push_back(session.remote_file(*s.blob, std::move(s.path), sas_expiry));
  }
  listing.snapshot_id = derived_snapshot_id(material);
  listing.revision = ref.revision;  // a pin is checked against snapshot_id by the cache
  return listing;
}

}  // namespace modelcache::source
