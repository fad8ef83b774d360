// URL parsing of the Hub routes. Every repo id goes through core::parse_ref and
// every revision and file path through util::validate_origin_path after one
// percent-decoding, so "..", "%2e%2e", absolute paths and NUL are a 400. A repo
// outside the tenant's set (--api-keys) is a 403 before anything is pulled.
#include <algorithm>

#include "server/hub_mirror.hpp"
#include "server/tenants.hpp"
#include "util/path_check.hpp"
#include "util/strings.hpp"

namespace modelcache::server {

namespace {

constexpr std::string_view kBadPath =
    "invalid file path: it must be relative, without '.', '..' or empty segments, backslash, NUL or "
    "control characters";

// Where the route keyword sits: after a one- or two-part repo id.
std::optional<std::size_t> keyword_index(const std::vector<std::string>& segs,
                                         std::initializer_list<std::string_view> words) {
  auto is_word = [&](std::size_t i) {
    return i < segs.size() && std::find(words.begin(), words.end(), segs[i]) != words.end();
  };
  if (segs.size() > 2 && is_word(2)) return 2;
  if (segs.size() > 1 && is_word(1)) return 1;
  return std::nullopt;
}

std::string decode_join(const std::vector<std::string>& segs, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (i > from) out += '/';
    out += util::url_decode(segs[i]);
  }
  return out;
}

Result<core::ModelRef> parse_repo(core::RepoType type, const std::string& name) {
  auto ref = core::parse_ref((type == core::RepoType::kDataset ? "hf://datasets/" : "hf://") + name);
  if (!ref || name.find('@') != std::string::npos) {
    return fail(ErrorCode::kInvalidRef,
                "invalid repository id: expected ORG/NAME (letters, digits, '-', '_', '.')");
  }
  return ref;
}

Status check_revision(std::string_view revision) {
  if (!util::validate_origin_path(revision)) {
    return fail(ErrorCode::kInvalidArgument, "invalid revision: expected a branch, tag or commit");
  }
  return {};
}

}  // namespace

std::optional<HttpResponse> HubMirror::handle(const HttpRequest& request) {
  std::vector<std::string> segs = util::split(std::string_view(request.path).substr(1), '/');
  if (segs.size() >= 3 && segs[0] == "api" && (segs[1] == "models" || segs[1] == "datasets")) {
    auto type = segs[1] == "datasets" ? core::RepoType::kDataset : core::RepoType::kModel;
    std::vector<std::string> rest(segs.begin() + 2, segs.end());
    auto k = keyword_index(rest, {"revision", "tree", "paths-info"});
    auto repo = parse_repo(type, decode_join(rest, 0, k ? *k : rest.size()));
    if (!repo) return error_response(400, "", repo.error().message);
    if (!may_use(request, repo->id())) return forbidden_response(repo->id());
    if (!k) {
      if (!request.is_read()) return error_response(405, "", "method not allowed");
      return repo_info(request, *repo, "main");
    }
    const std::string& word = rest[*k];
    if (rest.size() < *k + 2 || rest[*k + 1].empty()) return error_response(404, "", "Not Found");
    std::string revision = util::url_decode(rest[*k + 1]);
    if (auto s = check_revision(revision); !s) return error_response(400, "", s.error().message);
    if (word == "revision" && rest.size() == *k + 2) {
      if (!request.is_read()) return error_response(405, "", "method not allowed");
      return repo_info(request, *repo, revision);
    }
    if (word == "tree" && request.is_read()) {
      std::string sub = decode_join(rest, *k + 2, rest.size());
      while (sub.ends_with('/')) sub.pop_back();
      if (!sub.empty() && !util::validate_origin_path(sub)) return error_response(400, "", kBadPath);
      return tree(request, *repo, revision, sub);
    }
    if (word == "paths-info" && rest.size() == *k + 2) {
      if (request.method != "POST") return error_response(405, "", "paths-info takes POST");
      return paths_info(request, *repo, revision);
    }
    return error_response(404, "", "Not Found");
  }
  auto type = core::RepoType::kModel;
  if (!segs.empty() && segs[0] == "datasets") {
    type = core::RepoType::kDataset;
    segs.erase(segs.begin());
  }
  auto k = keyword_index(segs, {"resolve"});
  if (!k || segs.size() < *k + 3) return std::nullopt;
  if (!request.is_read()) return error_response(405, "", "resolve takes GET or HEAD");
  auto repo = parse_repo(type, decode_join(segs, 0, *k));
  if (!repo) return error_response(400, "", repo.error().message);
  if (!may_use(request, repo->id())) return forbidden_response(repo->id());
  std::string revision = util::url_decode(segs[*k + 1]);
  if (auto s = check_revision(revision); !s) return error_response(400, "", s.error().message);
  std::string path = decode_join(segs, *k + 2, segs.size());
  if (!util::validate_origin_path(path)) return error_response(400, "", kBadPath);
  return resolve(request, *repo, revision, path);
}

}  // namespace modelcache::server
