#include "server/hub_entries.hpp"

#include <fmt/format.h>

#include <ctime>
#include <set>

#include <nlohmann/json.hpp>

#include "util/hasher.hpp"

namespace modelcache::server {

namespace {

std::string git_blob_sha1(std::string_view content) {
  util::Hasher h(util::HashAlgo::kSha1);
  h.update(fmt::format("blob {}", content.size()));
  h.update(std::string_view("\0", 1));
  h.update(content);
  return h.finish_hex();
}

}  // namespace

std::string lfs_pointer(std::string_view sha256, std::uint64_t size) {
  return fmt::format("version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize {}\n", sha256, size);
}

HubFileInfo hub_file_info(const store::ManifestEntry& entry) {
  HubFileInfo info;
  info.size = entry.size;
  info.sha256 = entry.sha256;
  const auto& digest = entry.origin_digest;
  if (digest && digest->algo == core::DigestAlgo::kGitSha1) {
    info.oid = digest->hex;
    return info;
  }
  // A sha256 from the Hub means LFS; a file the Hub gave no digest for is
  // described the same way, from the sha256 we verified.
  info.lfs = true;
  if (digest && digest->algo == core::DigestAlgo::kSha256) info.sha256 = digest->hex;
  std::string pointer = lfs_pointer(info.sha256, info.size);
  info.pointer_size = pointer.size();
  info.oid = git_blob_sha1(pointer);
  return info;
}

nlohmann::json file_json(const store::ManifestEntry& entry, std::string_view commit, std::string_view date,
                         bool expand) {
  HubFileInfo info = hub_file_info(entry);
  nlohmann::json out = {{"type", "file"}, {"oid", info.oid}, {"size", info.size}, {"path", entry.path}};
  if (info.lfs) out["lfs"] = {{"oid", info.sha256}, {"size", info.size}, {"pointerSize", info.pointer_size}};
  if (expand) out["lastCommit"] = {{"id", commit}, {"title", ""}, {"date", date}};
  return out;
}

nlohmann::json directory_json(std::string_view path) {
  // The Hub gives a directory its git tree id; we have no tree objects, so a
  // stable id derived from the path stands in (clients do not read it).
  util::Hasher h(util::HashAlgo::kSha1);
  h.update(path);
  return {{"type", "directory"}, {"oid", h.finish_hex()}, {"size", 0}, {"path", path}};
}

std::vector<std::string> directories_of(const store::Manifest& manifest) {
  std::set<std::string> dirs;
  for (const auto& f : manifest.files) {
    for (auto slash = f.path.find('/'); slash != std::string::npos; slash = f.path.find('/', slash + 1)) {
      dirs.insert(f.path.substr(0, slash));
    }
  }
  return {dirs.begin(), dirs.end()};
}

std::string iso_date(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buf;
}

HttpResponse pull_error_response(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidRef:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kInvalidPath:
      return error_response(400, "", error.message);
    case ErrorCode::kNotFound:
      return error_response(404, "RepoNotFound", "Repository not found");
    case ErrorCode::kRevisionNotFound:
      return error_response(404, "RevisionNotFound", "Invalid rev id");
    case ErrorCode::kEntryNotFound:
      return error_response(404, "EntryNotFound", "Entry not found");
    case ErrorCode::kUnauthorized:
      // Like the Hub: a private repo is "not found" to whoever cannot read it.
      return error_response(401, "RepoNotFound", error.message);
    case ErrorCode::kGated:
      return error_response(403, "GatedRepo", error.message);
    case ErrorCode::kForbidden:
      return error_response(403, "", error.message);
    case ErrorCode::kOffline:
    case ErrorCode::kNotCached:
      return error_response(504, "", "not in the mirror's cache and the daemon is offline");
    case ErrorCode::kCancelled:
      return error_response(503, "", "the daemon is shutting down; retry");
    case ErrorCode::kNoSpace:
      return error_response(507, "", "the mirror's cache is out of space");
    case ErrorCode::kNetwork:
    case ErrorCode::kTimeout:
    case ErrorCode::kProtocol:
    case ErrorCode::kIntegrity:
      return error_response(502, "", "upstream failed: " + error.message);
    default:
      return error_response(500, "", error.message);
  }
}

}  // namespace modelcache::server
