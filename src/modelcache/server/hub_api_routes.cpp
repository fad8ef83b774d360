// GET /api/{models|datasets}/{repo}[/revision/{rev}], GET .../tree/{rev}[/{path}],
// POST .../paths-info/{rev}: the Hub's JSON, rebuilt from the snapshot manifest.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "server/hub_entries.hpp"
#include "server/hub_mirror.hpp"
#include "util/path_check.hpp"
#include "util/strings.hpp"

namespace modelcache::server {

namespace {

using nlohmann::json;

constexpr std::size_t kTreePage = 1000;  // the Hub's default page size

bool query_true(const HttpRequest& request, std::string_view name) {
  auto v = request.query_param(name);
  return v && util::to_lower(*v) == "true";
}

// Paths and expand from a paths-info body: JSON {"paths": [...], "expand": bool}
// (@huggingface/hub) or a form paths=a&paths=b&expand=true (huggingface_hub).
Result<std::pair<std::vector<std::string>, bool>> parse_paths_body(const HttpRequest& request) {
  std::vector<std::string> paths;
  bool expand = false;
  auto type = request.header("content-type");
  if (type && type->starts_with("application/json")) {
    auto doc = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
      return fail(ErrorCode::kInvalidArgument, "paths-info body is not a JSON object");
    }
    auto it = doc.find("paths");
    if (it != doc.end()) {
      if (!it->is_array()) return fail(ErrorCode::kInvalidArgument, "paths-info: \"paths\" must be an array of strings");
      for (const auto& p : *it) {
        if (!p.is_string()) return fail(ErrorCode::kInvalidArgument, "paths-info: \"paths\" must be an array of strings");
        paths.push_back(p.get<std::string>());
      }
    }
    auto e = doc.find("expand");
    expand = e != doc.end() && e->is_boolean() && e->get<bool>();
    return std::pair{std::move(paths), expand};
  }
  for (const auto& pair : util::split(request.body, '&')) {
    auto eq = pair.find('=');
    if (eq == std::string::npos) continue;
    auto plus_as_space = [](std::string s) {
      for (char& c : s) c = c == '+' ? ' ' : c;
      return s;
    };
    std::string key = util::url_decode(plus_as_space(pair.substr(0, eq)));
    std::string value = util::url_decode(plus_as_space(pair.substr(eq + 1)));
    if (key == "paths") paths.push_back(value);
    if (key == "expand") expand = util::to_lower(value) == "true";
  }
  return std::pair{std::move(paths), expand};
}

}  // namespace

HttpResponse HubMirror::repo_info(const HttpRequest& request, const core::ModelRef& repo, std::string_view revision) {
  auto snap = pulls_.get(repo, revision, request.bearer_token());
  if (!snap) return pull_error_response(snap.error());
  const bool blobs = query_true(request, "blobs");
  json siblings = json::array();
  std::uint64_t used = 0;
  for (const auto& f : snap->manifest.files) {
    json s = {{"rfilename", f.path}};
    if (blobs) {
      HubFileInfo info = hub_file_info(f);
      s["size"] = f.size;
      s["blobId"] = info.oid;
      if (info.lfs) s["lfs"] = {{"sha256", info.sha256}, {"size", f.size}, {"pointerSize", info.pointer_size}};
    }
    siblings.push_back(std::move(s));
    used += f.size;
  }
  auto slash = repo.repo.find('/');
  std::string date = iso_date(snap->manifest.updated_at);
  json body = {{"_id", snap->snapshot.snapshot_id.substr(0, 24)},
               {"id", repo.repo},
               {"author", slash == std::string::npos ? json(nullptr) : json(repo.repo.substr(0, slash))},
               {"sha", snap->snapshot.snapshot_id},
               {"lastModified", date},
               {"createdAt", date},
               {"private", false},
               {"gated", false},
               {"disabled", false},
               {"downloads", 0},
               {"likes", 0},
               {"tags", json::array()},
               {"siblings", std::move(siblings)},
               {"usedStorage", used}};
  if (repo.repo_type == core::RepoType::kModel) body["modelId"] = repo.repo;
  return json_response(200, body);
}

HttpResponse HubMirror::tree(const HttpRequest& request, const core::ModelRef& repo, std::string_view revision,
                             std::string_view sub) {
  auto snap = pulls_.get(repo, revision, request.bearer_token());
  if (!snap) return pull_error_response(snap.error());
  const bool recursive = query_true(request, "recursive");
  const bool expand = query_true(request, "expand");
  const std::string& commit = snap->snapshot.snapshot_id;
  std::string date = iso_date(snap->manifest.updated_at);
  auto dirs = directories_of(snap->manifest);
  if (!sub.empty() && !std::binary_search(dirs.begin(), dirs.end(), std::string(sub))) {
    return error_response(404, "EntryNotFound", fmt::format("{} does not exist on \"{}\"", sub, revision));
  }
  std::string prefix = sub.empty() ? "" : std::string(sub) + "/";
  auto inside = [&](const std::string& p) {
    return p.starts_with(prefix) && (recursive || p.find('/', prefix.size()) == std::string::npos);
  };
  std::vector<std::pair<std::string, json>> entries;
  for (const auto& d : dirs) {
    if (inside(d)) entries.emplace_back(d, directory_json(d));
  }
  for (const auto& f : snap->manifest.files) {
    if (inside(f.path)) entries.emplace_back(f.path, file_json(f, commit, date, expand));
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  // Paging like the Hub: a `cursor` (here an offset) and Link: rel="next".
  std::size_t page = kTreePage;
  if (auto limit = request.query_param("limit"); limit) {
    auto n = util::parse_int(*limit);
    if (n && *n > 0) page = std::min<std::size_t>(page, static_cast<std::size_t>(*n));
  }
  std::size_t offset = 0;
  if (auto cursor = request.query_param("cursor"); cursor) {
    auto n = util::parse_int(*cursor);
    if (!n || *n < 0) return error_response(400, "", "invalid cursor");
    offset = std::min<std::size_t>(static_cast<std::size_t>(*n), entries.size());
  }
  json out = json::array();
  for (std::size_t i = offset; i < entries.size() && i < offset + page; ++i) out.push_back(std::move(entries[i].second));
  HttpResponse response = json_response(200, out);
  if (offset + page < entries.size()) {
    std::string query;
    for (const auto& pair : util::split(request.query, '&')) {
      if (!pair.empty() && !pair.starts_with("cursor=")) query += pair + "&";
    }
    query += fmt::format("cursor={}", offset + page);
    auto host = request.header("host");
    response.set_header("Link", fmt::format("<http://{}{}?{}>; rel=\"next\"", host ? *host : "127.0.0.1",
                                            request.path, query));
  }
  return response;
}

HttpResponse HubMirror::paths_info(const HttpRequest& request, const core::ModelRef& repo,
                                   std::string_view revision) {
  auto wanted = parse_paths_body(request);
  if (!wanted) return error_response(400, "", wanted.error().message);
  auto snap = pulls_.get(repo, revision, request.bearer_token());
  if (!snap) return pull_error_response(snap.error());
  auto dirs = directories_of(snap->manifest);
  std::string date = iso_date(snap->manifest.updated_at);
  json out = json::array();
  for (std::string p : wanted->first) {
    while (p.starts_with('/')) p.erase(0, 1);
    while (p.ends_with('/')) p.pop_back();
    if (!util::validate_origin_path(p)) continue;  // cannot name an entry: like a missing one
    if (const auto* f = snap->manifest.find(p)) {
      out.push_back(file_json(*f, snap->snapshot.snapshot_id, date, wanted->second));
    } else if (std::binary_search(dirs.begin(), dirs.end(), p)) {
      out.push_back(directory_json(p));
    }
  }
  return json_response(200, out);
}

}  // namespace modelcache::server
