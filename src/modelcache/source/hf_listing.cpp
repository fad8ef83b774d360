#include "source/hf_listing.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "core/digest.hpp"
#include "source/origin_errors.hpp"
#include "util/hasher.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

using nlohmann::json;

std::unexpected<Error> protocol(std::string message) {
  return fail(ErrorCode::kProtocol, "Hub answer is malformed: " + std::move(message));
}

// Parsed without exceptions: a hostile or broken server must not throw through us.
Result<json> parse_json(std::string_view body, std::string_view what) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return protocol(fmt::format("{} is not JSON", what));
  return doc;
}

// A size field: absent -> kUnknownSize; anything but a non-negative integer is an error.
Result<std::uint64_t> size_field(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return kUnknownSize;
  if (it->is_number_unsigned()) return it->get<std::uint64_t>();
  if (it->is_number_integer() && it->get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(it->get<std::int64_t>());
  }
  return protocol(fmt::format("'{}' of {} is not a size", key, printable(path)));
}

// An optional hex digest field; present but malformed is an error, since the
// digest is what the download is checked against.
Result<std::optional<core::Digest>> digest_field(const json& obj, const char* key,
                                                 core::DigestAlgo algo, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<core::Digest>();
  std::size_t length = algo == core::DigestAlgo::kSha256 ? 64 : 40;
  if (!it->is_string() || !util::is_hex(util::to_lower(it->get<std::string>()), length)) {
    return protocol(fmt::format("'{}' of {} is not a {}-hex digest", key, printable(path), length));
  }
  return core::Digest{algo, util::to_lower(it->get<std::string>())};
}

// Shared by tree entries and siblings, which name the same facts differently:
// tree {path, size, oid, lfs {oid, size}}, siblings {rfilename, size, blobId, lfs {sha256, size}}.
struct FieldNames {
  const char* path;
  const char* git_oid;
  const char* lfs_oid;
};

Result<RemoteFile> parse_file(const json& entry, const FieldNames& names) {
  auto path_it = entry.find(names.path);
  if (path_it == entry.end() || !path_it->is_string()) {
    return protocol(fmt::format("a file entry has no string '{}'", names.path));
  }
  RemoteFile file;
  file.path = path_it->get<std::string>();
  auto lfs = entry.find("lfs");
  if (lfs != entry.end() && lfs->is_object()) {
    // Older answers name the LFS oid "sha256", newer ones "oid".
    const char* key = lfs->contains(names.lfs_oid) ? names.lfs_oid : "oid";
    auto digest = digest_field(*lfs, key, core::DigestAlgo::kSha256, file.path);
    if (!digest) return std::unexpected(digest.error());
    if (!*digest) return protocol(fmt::format("LFS entry {} has no sha256", printable(file.path)));
    auto size = size_field(*lfs, "size", file.path);
    if (!size) return std::unexpected(size.error());
    file.digest = *digest;
    file.size = *size;
  } else {
    auto digest = digest_field(entry, names.git_oid, core::DigestAlgo::kGitSha1, file.path);
    if (!digest) return std::unexpected(digest.error());
    auto size = size_field(entry, "size", file.path);
    if (!size) return std::unexpected(size.error());
    file.digest = *digest;
    file.size = *size;
  }
  // The Hub's ETag for a file is its LFS sha256 or git blob id: record the same.
  if (file.digest) file.etag = file.digest->hex;
  return file;
}

}  // namespace

Result<std::string> parse_revision_sha(std::string_view body) {
  auto doc = parse_json(body, "the revision answer");
  if (!doc) return std::unexpected(doc.error());
  if (!doc->is_object()) return protocol("the revision answer is not an object");
  auto sha = doc->find("sha");
  if (sha == doc->end() || !sha->is_string() ||
      !util::is_hex(util::to_lower(sha->get<std::string>()), 40)) {
    return protocol("the revision answer has no 40-hex 'sha'");
  }
  return util::to_lower(sha->get<std::string>());
}

Result<std::vector<RemoteFile>> parse_tree_page(std::string_view body) {
  auto doc = parse_json(body, "a tree page");
  if (!doc) return std::unexpected(doc.error());
  if (!doc->is_array()) return protocol("a tree page is not an array");
  std::vector<RemoteFile> files;
  for (const auto& entry : *doc) {
    if (!entry.is_object()) return protocol("a tree entry is not an object");
    auto type = entry.find("type");
    if (type == entry.end() || !type->is_string()) return protocol("a tree entry has no type");
    if (*type != "file") continue;  // directories (and anything newer) carry no bytes
    auto file = parse_file(entry, {"path", "oid", "oid"});
    if (!file) return std::unexpected(file.error());
    files.push_back(std::move(*file));
  }
  return files;
}

Result<std::vector<RemoteFile>> parse_siblings(std::string_view body) {
  auto doc = parse_json(body, "the revision answer");
  if (!doc) return std::unexpected(doc.error());
  auto siblings = doc->is_object() ? doc->find("siblings") : doc->end();
  if (!doc->is_object() || siblings == doc->end() || !siblings->is_array()) {
    return protocol("the revision answer has no 'siblings' array");
  }
  std::vector<RemoteFile> files;
  for (const auto& entry : *siblings) {
    if (!entry.is_object()) return protocol("a sibling is not an object");
    auto file = parse_file(entry, {"rfilename", "blobId", "sha256"});
    if (!file) return std::unexpected(file.error());
    files.push_back(std::move(*file));
  }
  return files;
}

}  // namespace modelcache::source
