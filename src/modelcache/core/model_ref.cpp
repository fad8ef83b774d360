#include "core/model_ref.hpp"

#include <cctype>
#include <filesystem>

#include "util/hasher.hpp"

namespace modelcache::core {

namespace {

bool valid_repo_part(std::string_view s) {
  if (s.empty() || s.size() > 96 || s == "." || s == "..") return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

Status bad_ref(std::string_view text, std::string_view why) {
  return fail(ErrorCode::kInvalidRef,
              "invalid model reference '" + std::string(text) + "': " + std::string(why));
}

Result<ModelRef> parse_hf(std::string_view text, std::string_view rest) {
  ModelRef ref;
  ref.kind = RefKind::kHuggingFace;
  if (rest.starts_with("datasets/")) {
    ref.repo_type = RepoType::kDataset;
    rest.remove_prefix(9);
  } else if (rest.starts_with("models/")) {
    rest.remove_prefix(7);
  }
  std::string_view repo = rest;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    repo = rest.substr(0, at);
    ref.revision = std::string(rest.substr(at + 1));
    if (ref.revision.empty()) return std::unexpected(bad_ref(text, "empty revision after '@'").error());
  }
  auto slash = repo.find('/');
  bool ok = slash == std::string_view::npos
                ? valid_repo_part(repo)
                : valid_repo_part(repo.substr(0, slash)) && valid_repo_part(repo.substr(slash + 1));
  if (!ok) {
    return std::unexpected(
        bad_ref(text, "expected hf://ORG/NAME[@REVISION] (letters, digits, '-', '_', '.')").error());
  }
  ref.repo = std::string(repo);
  if (ref.revision.empty()) ref.revision = "main";
  for (char c : ref.revision) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '\\') {
      return std::unexpected(bad_ref(text, "revision contains an invalid character").error());
    }
  }
  return ref;
}

std::string slug_of(std::string_view id) {
  std::string out;
  for (char c : id) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '.' || c == '_' || c == '-') {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
    if (out.size() >= 64) break;
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  return out.empty() ? "model" : out;
}

}  // namespace

std::string ModelRef::id() const {
  switch (kind) {
    case RefKind::kHuggingFace:
      return repo_type == RepoType::kDataset ? "hf://datasets/" + repo : "hf://" + repo;
    case RefKind::kHttp:
      return repo;
    case RefKind::kFile:
      return "file://" + repo;
  }
  return repo;
}

std::string ModelRef::folder_name() const {
  std::string full = id();
  std::string_view body = full;
  if (auto p = body.find("://"); p != std::string_view::npos) body.remove_prefix(p + 3);
  return slug_of(body) + "-" + util::sha256_hex(full).substr(0, 16);
}

std::string_view ModelRef::hub_type_path() const {
  return repo_type == RepoType::kDataset ? "datasets" : "models";
}

Result<ModelRef> parse_ref(std::string_view text) {
  if (text.empty()) return std::unexpected(bad_ref(text, "empty").error());
  if (text.starts_with("hf://")) return parse_hf(text, text.substr(5));
  if (text.starts_with("http://") || text.starts_with("https://")) {
    ModelRef ref;
    ref.kind = RefKind::kHttp;
    ref.repo = std::string(text);
    auto host_start = text.find("://") + 3;
    if (text.size() <= host_start || text[host_start] == '/') {
      return std::unexpected(bad_ref(text, "URL has no host").error());
    }
    return ref;
  }
  std::string_view path = text;
  if (text.starts_with("file://")) {
    path = text.substr(7);
    if (!path.starts_with("/")) return std::unexpected(bad_ref(text, "file:// needs an absolute path").error());
  } else if (text.find("://") != std::string_view::npos) {
    return std::unexpected(
        bad_ref(text, "unknown scheme (supported: hf://, http://, https://, file://)").error());
  }
  std::error_code ec;
  auto abs = std::filesystem::absolute(std::filesystem::path(path), ec).lexically_normal();
  if (ec) return std::unexpected(bad_ref(text, ec.message()).error());
  std::string s = abs.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  ModelRef ref;
  ref.kind = RefKind::kFile;
  ref.repo = s;
  return ref;
}

bool is_commit_hash(std::string_view revision) { return util::is_hex(revision, 40); }

}  // namespace modelcache::core
