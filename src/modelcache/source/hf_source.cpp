#include "source/hf_source.hpp"

#include <fmt/format.h>

#include <set>

#include "net/http_client.hpp"
#include "source/hf_errors.hpp"
#include "source/hf_listing.hpp"
#include "source/link_header.hpp"
#include "source/origin_errors.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

// A runaway Link chain (a server that links a page to itself) must end.
constexpr int kMaxTreePages = 100000;

// One listing: the endpoint, the token's header, and the client, in one place.
class HubSession {
 public:
  HubSession(const std::string& endpoint, const core::TransferSettings& transfer,
             const core::ModelRef& ref, const ListOptions& options)
      : endpoint_(endpoint), client_(transfer), ref_(ref), token_(options.token) {
    if (token_) auth_header_ = "Authorization: Bearer " + *token_;
  }

  std::string api_base() const {
    return fmt::format("{}/api/{}/{}", endpoint_, ref_.hub_type_path(), ref_.repo);
  }

  std::string file_url(std::string_view commit, std::string_view path) const {
    std::string_view prefix = ref_.repo_type == core::RepoType::kDataset ? "/datasets/" : "/";
    return fmt::format("{}{}{}/resolve/{}/{}", endpoint_, prefix, ref_.repo, commit,
                       util::url_encode(path, "/"));
  }

  std::vector<std::string> file_headers() const {
    return auth_header_.empty() ? std::vector<std::string>{} : std::vector{auth_header_};
  }

  // GET with the token only when `url` is on the endpoint's origin: a Link header
  // may point elsewhere, and the token must not follow it there.
  Result<net::HttpResponse> get(const std::string& url) const {
    net::HttpRequest request;
    request.url = url;
    request.headers.push_back("Accept: application/json");
    if (!auth_header_.empty()) {
      if (same_origin(url, endpoint_)) {
        request.headers.push_back(auth_header_);
      } else {
        util::log(util::LogLevel::kDebug, "not sending the token to {}", net::redact_url(url));
      }
    }
    auto response = client_.send(request);
    if (!response) {
      return fail(
          response.error().code,
          scrub(fmt::format("cannot reach {}: {}", endpoint_, response.error().message), token_));
    }
    return response;
  }

  Error error(const net::HttpResponse& response) const {
    return hub_error(response, {ref_, endpoint_, token_, ""});
  }

  Result<std::string> resolve_commit() const {
    auto response = get(api_base() + "/revision/" + util::url_encode(ref_.revision));
    if (!response) return std::unexpected(response.error());
    if (!response->succeeded()) return std::unexpected(error(*response));
    auto sha = parse_revision_sha(response->body);
    if (!sha) return std::unexpected(sha.error());
    // A commit asked for by id must come back as itself, or the listing is not that snapshot.
    if (core::is_commit_hash(ref_.revision) && util::to_lower(ref_.revision) != *sha) {
      return fail(ErrorCode::kProtocol,
                  fmt::format("{} answered commit {} when asked for commit {}", endpoint_, *sha,
                              ref_.revision));
    }
    return sha;
  }

  // nullopt: the tree route does not exist here (a mirror without it).
  Result<std::optional<std::vector<RemoteFile>>> list_tree(const std::string& commit) const {
    std::vector<RemoteFile> files;
    std::set<std::string> seen;
    std::string url = fmt::format("{}/tree/{}?recursive=true", api_base(), commit);
    for (int page = 0; !url.empty(); ++page) {
      if (page >= kMaxTreePages || !seen.insert(url).second) {
        return fail(ErrorCode::kProtocol,
                    fmt::format("{} keeps paginating the file list of {} (page {})", endpoint_,
                                ref_.repo, page + 1));
      }
      auto response = get(url);
      if (!response) return std::unexpected(response.error());
      if (page == 0 && !response->header("x-error-code") &&
          (response->status == 404 || response->status == 405 || response->status == 501)) {
        return std::optional<std::vector<RemoteFile>>();
      }
      if (!response->succeeded()) return std::unexpected(error(*response));
      auto entries = parse_tree_page(response->body);
      if (!entries) return std::unexpected(entries.error());
      std::move(entries->begin(), entries->end(), std::back_inserter(files));
      url.clear();
      for (const auto& [name, value] : response->headers) {
        if (name != "link") continue;
        if (auto next = next_link(value)) {
          url = resolve_url(endpoint_, *next);
          break;
        }
      }
    }
    return std::optional(std::move(files));
  }

  Result<std::vector<RemoteFile>> list_siblings(const std::string& commit) const {
    util::log(util::LogLevel::kInfo, "{} has no tree route; listing {} from its siblings",
              endpoint_, ref_.repo);
    // blobs=true adds size, blob id and LFS sha256 to each sibling.
    auto response = get(api_base() + "/revision/" + commit + "?blobs=true");
    if (!response) return std::unexpected(response.error());
    if (!response->succeeded()) return std::unexpected(error(*response));
    return parse_siblings(response->body);
  }

 private:
  const std::string& endpoint_;
  net::HttpClient client_;
  const core::ModelRef& ref_;
  const std::optional<std::string>& token_;
  std::string auth_header_;
};

}  // namespace

HfSource::HfSource(const core::Config& config)
    : endpoint_(config.hf_endpoint), transfer_(config.transfer) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

Result<Listing> HfSource::list(const core::ModelRef& ref, const ListOptions& options) {
  if (ref.kind != core::RefKind::kHuggingFace) {
    return fail(ErrorCode::kInternal, "HfSource asked to list " + ref.id());
  }
  HubSession session(endpoint_, transfer_, ref, options);
  auto commit = session.resolve_commit();
  if (!commit) return std::unexpected(commit.error());
  auto tree = session.list_tree(*commit);
  if (!tree) return std::unexpected(tree.error());
  std::vector<RemoteFile> files;
  if (*tree) {
    files = std::move(**tree);
  } else {
    auto siblings = session.list_siblings(*commit);
    if (!siblings) return std::unexpected(siblings.error());
    files = std::move(*siblings);
  }
  for (auto& file : files) {
    file.url = session.file_url(*commit, file.path);
    file.headers = session.file_headers();
  }
  return Listing{*commit, ref.revision, std::move(files)};
}

}  // namespace modelcache::source
