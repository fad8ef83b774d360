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

// s3://BUCKET[/PREFIX][@SNAPSHOT], gs://..., az://ACCOUNT/CONTAINER[/PREFIX][@SNAPSHOT].
// Object keys may contain '@', so only a trailing '@' + 40 hex is a pin.
Result<ModelRef> parse_bucket(std::string_view text, RefKind kind, std::string_view rest) {
  ModelRef ref;
  ref.kind = kind;
  if (auto at = rest.rfind('@'); at != std::string_view::npos && is_commit_hash(rest.substr(at + 1))) {
    ref.revision = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
  }
  while (rest.ends_with("//")) rest.remove_suffix(1);
  const int parts = kind == RefKind::kAzure ? 2 : 1;  // account/container, or bucket
  std::string_view head = rest;
  std::size_t cut = 0;
  for (int i = 0; i < parts; ++i) {
    auto slash = head.find('/', cut);
    std::string_view part = head.substr(cut, slash == std::string_view::npos ? slash : slash - cut);
    if (part.empty() || part.size() > 255 || part == "." || part == "..") {
      const char* form = kind == RefKind::kAzure ? "az://ACCOUNT/CONTAINER[/PREFIX]"
                         : kind == RefKind::kS3  ? "s3://BUCKET[/PREFIX]"
                                                 : "gs://BUCKET[/PREFIX]";
      return std::unexpected(bad_ref(text, std::string("expected ") + form).error());
    }
    for (char c : part) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
        return std::unexpected(bad_ref(text, "bucket, account and container names are letters, digits, '-', '_', '.'").error());
      }
    }
    cut = slash == std::string_view::npos ? head.size() : slash + 1;
  }
  for (char c : rest) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '\\') {
      return std::unexpected(bad_ref(text, "prefix contains a control character or backslash").error());
    }
  }
  ref.repo = std::string(rest);
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
    case RefKind::kHttp: {
      // The query may carry a signature (pre-signed URLs): the id, which names the
      // model folder and appears in manifests and messages, keeps only a hash of it,
      // so that no secret lands on disk while URLs that differ in their query stay
      // different models.
      auto q = repo.find_first_of("?#");
      if (q == std::string::npos) return repo;
      std::string query = repo.substr(q + 1);
      if (auto hash = query.find('#'); hash != std::string::npos) query.resize(hash);
      if (query.empty()) return repo.substr(0, q);
      return repo.substr(0, q) + "?query-sha256=" + util::sha256_hex(query).substr(0, 16);
    }
    case RefKind::kFile:
      return "file://" + repo;
    case RefKind::kS3:
      return "s3://" + repo;
    case RefKind::kGcs:
      return "gs://" + repo;
    case RefKind::kAzure:
      return "az://" + repo;
  }
  return repo;
}

std::string ModelRef::bucket() const {
  std::size_t cut = 0;
  for (int i = 0; i < (kind == RefKind::kAzure ? 2 : 1); ++i) {
    auto slash = repo.find('/', cut);
    cut = slash == std::string::npos ? repo.size() : slash + 1;
  }
  std::string out = repo.substr(0, cut);
  if (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

std::string ModelRef::prefix() const {
  std::string b = bucket();
  return b.size() >= repo.size() ? std::string() : repo.substr(b.size() + 1);
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
  if (text.starts_with("s3://")) return parse_bucket(text, RefKind::kS3, text.substr(5));
  if (text.starts_with("gs://")) return parse_bucket(text, RefKind::kGcs, text.substr(5));
  if (text.starts_with("az://")) return parse_bucket(text, RefKind::kAzure, text.substr(5));
  if (text.starts_with("azure://")) return parse_bucket(text, RefKind::kAzure, text.substr(8));
  std::string_view path = text;
  if (text.starts_with("file://")) {
    path = text.substr(7);
    if (!path.starts_with("/")) return std::unexpected(bad_ref(text, "file:// needs an absolute path").error());
  } else if (text.find("://") != std::string_view::npos) {
    return std::unexpected(
        bad_ref(text, "unknown scheme (supported: hf://, s3://, gs://, az://, http://, https://, file://)").error());
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
