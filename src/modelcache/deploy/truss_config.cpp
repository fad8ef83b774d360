#include "deploy/truss_config.hpp"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "core/model_ref.hpp"
#include "net/http_client.hpp"
#include "util/fs.hpp"
#include "util/path_check.hpp"
#include "util/strings.hpp"

namespace modelcache::deploy {

namespace {

int line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

// Builds "<file>:<line>: <label>: <what>" errors for one entry.
struct EntryErrors {
  const std::filesystem::path& file;
  std::string label;

  std::unexpected<Error> operator()(const YAML::Node& at, std::string_view what) const {
    return operator()(line_of(at), what);
  }
  std::unexpected<Error> operator()(int line, std::string_view what) const {
    std::string where = file.empty() ? std::string("config") : file.string();
    if (line > 0) where += fmt::format(":{}", line);
    return fail(ErrorCode::kInvalidArgument, fmt::format("{}: {}: {}", where, label, what));
  }
};

Result<std::string> scalar(const YAML::Node& map, const char* key, const EntryErrors& err,
                           bool required) {
  const YAML::Node node = map[key];
  if (!node || node.IsNull()) {
    if (required) return err(map, fmt::format("'{}' is required", key));
    return std::string();
  }
  if (!node.IsScalar()) return err(node, fmt::format("'{}' must be a string", key));
  std::string value = node.Scalar();
  if (required && util::trim(value).empty()) return err(node, fmt::format("'{}' is empty", key));
  return value;
}

// allow_patterns / ignore_patterns: a list of strings (a single string is taken
// as a one-element list, as Truss's pydantic model coerces it).
Result<std::vector<std::string>> patterns(const YAML::Node& map, const char* key,
                                          const EntryErrors& err) {
  const YAML::Node node = map[key];
  std::vector<std::string> out;
  if (!node || node.IsNull()) return out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) return err(node, fmt::format("'{}' must be a list of globs", key));
  for (const auto& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      return err(item, fmt::format("'{}' must be a list of non-empty strings", key));
    }
    out.push_back(item.Scalar());
  }
  return out;
}

Result<bool> boolean(const YAML::Node& map, const char* key, const EntryErrors& err, bool dflt) {
  const YAML::Node node = map[key];
  if (!node || node.IsNull()) return dflt;
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    return err(node, fmt::format("'{}' must be true or false", key));
  }
  return value;
}

Status check_ref(const Entry& e, const YAML::Node& at, const EntryErrors& err) {
  auto parsed = core::parse_ref(e.ref);
  if (!parsed) {
    // parse_ref quotes the ref; a signed URL's query must not reach the message.
    std::string message = parsed.error().message;
    const std::string shown = shown_source(e.ref);
    for (auto at_pos = message.find(e.ref); at_pos != std::string::npos; at_pos = message.find(e.ref, at_pos)) {
      message.replace(at_pos, e.ref.size(), shown);
      at_pos += shown.size();
    }
    return err(at, message);
  }
  return {};
}

Result<Entry> parse_model_cache(const YAML::Node& node, std::size_t index,
                                const std::filesystem::path& file) {
  EntryErrors err{file, fmt::format("model_cache[{}]", index)};
  if (!node.IsMap()) return err(node, "each model_cache entry must be a mapping with a repo_id");
  Entry e;
  e.section = Section::kModelCache;
  e.index = index;
  e.line = line_of(node);
  auto repo_id = scalar(node, "repo_id", err, true);
  if (!repo_id) return std::unexpected(repo_id.error());
  e.written = util::trim(*repo_id);
  err.label += " " + shown_source(e.written);

  auto kind = scalar(node, "kind", err, false);
  if (!kind) return std::unexpected(kind.error());
  const std::string k = util::to_lower(util::trim(*kind));
  auto revision = scalar(node, "revision", err, false);
  if (!revision) return std::unexpected(revision.error());
  if (k.empty() || k == "hf" || k == "huggingface") {
    if (e.written.find("://") != std::string::npos) {
      return err(node["repo_id"], "kind hf takes a Hub repo id such as org/name, not a URL");
    }
    e.ref = "hf://" + e.written;
    e.revision = util::trim(*revision);
  } else if (k == "s3" || k == "gcs" || k == "azure") {
    const bool matches = k == "s3"    ? e.written.starts_with("s3://")
                         : k == "gcs" ? e.written.starts_with("gs://")
                                      : e.written.starts_with("azure://") || e.written.starts_with("az://");
    if (!matches) {
      const char* want = k == "s3" ? "s3://BUCKET/PREFIX" : k == "gcs" ? "gs://BUCKET/PREFIX"
                                                                        : "azure://ACCOUNT/CONTAINER/PREFIX";
      return err(node["repo_id"], fmt::format("kind {} needs repo_id of the form {}", k, want));
    }
    e.ref = e.written;  // `revision` means nothing for a bucket prefix: lock files pin it
  } else {
    return err(node["kind"], fmt::format("unknown kind '{}' (supported: hf, s3, gcs, azure)", *kind));
  }
  if (auto ok = check_ref(e, node["repo_id"], err); !ok) return std::unexpected(ok.error());

  auto allow = patterns(node, "allow_patterns", err);
  if (!allow) return std::unexpected(allow.error());
  auto ignore = patterns(node, "ignore_patterns", err);
  if (!ignore) return std::unexpected(ignore.error());
  e.allow = std::move(*allow);
  e.ignore = std::move(*ignore);

  auto secret = scalar(node, "runtime_secret_name", err, false);
  if (!secret) return std::unexpected(secret.error());
  e.secret_name = util::trim(*secret);
  if (e.secret_name.empty() && e.ref.starts_with("hf://")) {
    e.secret_name = "hf_access_token";
    e.secret_optional = true;
  }

  auto folder = scalar(node, "volume_folder", err, false);
  if (!folder) return std::unexpected(folder.error());
  e.volume_folder = util::trim(*folder);
  while (e.volume_folder.size() > 1 && e.volume_folder.back() == '/') e.volume_folder.pop_back();
  auto use_volume = boolean(node, "use_volume", err, !e.volume_folder.empty());
  if (!use_volume) return std::unexpected(use_volume.error());
  if (*use_volume) {
    if (e.volume_folder.empty()) return err(node, "use_volume: true needs a volume_folder");
    if (auto ok = util::validate_origin_path(e.volume_folder); !ok) {
      return err(node["volume_folder"], "volume_folder must be a relative folder name without '..': " +
                                            ok.error().message);
    }
    e.mount = true;
  }
  return e;
}

Result<Entry> parse_weights(const YAML::Node& node, std::size_t index, const std::filesystem::path& file) {
  EntryErrors err{file, fmt::format("weights[{}]", index)};
  if (!node.IsMap()) return err(node, "each weights entry must be a mapping with a source");
  Entry e;
  e.section = Section::kWeights;
  e.index = index;
  e.line = line_of(node);
  auto source = scalar(node, "source", err, true);
  if (!source) return std::unexpected(source.error());
  e.written = util::trim(*source);
  err.label += " " + shown_source(e.written);
  e.ref = e.written;
  if (auto ok = check_ref(e, node["source"], err); !ok) return std::unexpected(ok.error());

  auto mount = scalar(node, "mount_location", err, true);
  if (!mount) return std::unexpected(mount.error());
  std::string location(util::trim(*mount));
  while (location.size() > 1 && location.back() == '/') location.pop_back();
  if (!location.starts_with('/') || location == "/") {
    return err(node["mount_location"], "mount_location must be an absolute folder such as /app/weights/model");
  }
  if (auto ok = util::validate_origin_path(std::string_view(location).substr(1)); !ok) {
    return err(node["mount_location"], "mount_location must not contain '..', '.' or empty segments: " +
                                           ok.error().message);
  }
  e.mount_location = location;
  e.mount = true;

  auto allow = patterns(node, "allow_patterns", err);
  if (!allow) return std::unexpected(allow.error());
  auto ignore = patterns(node, "ignore_patterns", err);
  if (!ignore) return std::unexpected(ignore.error());
  e.allow = std::move(*allow);
  e.ignore = std::move(*ignore);
  auto secret = scalar(node, "auth_secret_name", err, false);
  if (!secret) return std::unexpected(secret.error());
  e.secret_name = util::trim(*secret);
  return e;
}

Result<DeployConfig> parse_document(const YAML::Node& root, const std::filesystem::path& file) {
  const std::string where = file.empty() ? std::string("config") : file.string();
  DeployConfig config;
  config.file = file;
  if (!root || root.IsNull()) {
    return fail(ErrorCode::kInvalidArgument, where + ": empty file: expected model_cache: or weights: entries");
  }
  if (!root.IsMap()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}:{}: expected a mapping at the top level (a Truss config.yaml)", where,
                            line_of(root)));
  }
  for (const char* key : {"model_cache", "weights"}) {
    const YAML::Node section = root[key];
    if (!section || section.IsNull()) continue;
    if (!section.IsSequence()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}:{}: '{}' must be a list of entries", where, line_of(section), key));
    }
    std::size_t index = 0;
    for (const auto& item : section) {
      auto entry = std::string_view(key) == "model_cache" ? parse_model_cache(item, index, file)
                                                          : parse_weights(item, index, file);
      if (!entry) return std::unexpected(entry.error());
      config.entries.push_back(std::move(*entry));
      ++index;
    }
  }
  if (config.entries.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                where + ": no model_cache: or weights: entries: nothing to fetch");
  }
  return config;
}

}  // namespace

std::string shown_source(std::string_view source) {
  if (source.starts_with("http://") || source.starts_with("https://")) return net::redact_url(source);
  return std::string(source);
}

std::string_view to_string(Section section) {
  return section == Section::kModelCache ? "model_cache" : "weights";
}

std::string Entry::label() const {
  return fmt::format("{}[{}] {}", to_string(section), index, shown_source(written));
}

std::string Entry::source_as_written() const {
  std::string out = shown_source(written);
  if (!revision.empty()) out += "@" + revision;
  return out;
}

std::optional<std::filesystem::path> Entry::mount_path(const std::filesystem::path& mount_root) const {
  if (!mount) return std::nullopt;
  if (section == Section::kWeights) return mount_location;
  return mount_root / volume_folder;
}

Result<DeployConfig> parse_truss_config(std::string_view yaml, const std::filesystem::path& file) {
  // yaml-cpp reports errors by exception; they stop here.
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}:{}: not valid YAML: {}", file.empty() ? std::string("config") : file.string(),
                            e.mark.line + 1, e.msg));
  }
  try {
    return parse_document(root, file);
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}:{}: {}", file.empty() ? std::string("config") : file.string(),
                            e.mark.line + 1, e.msg));
  }
}

Result<DeployConfig> load_truss_config(const std::filesystem::path& file) {
  auto text = util::read_file(file);
  if (!text) return std::unexpected(text.error());
  return parse_truss_config(*text, file);
}

std::filesystem::path resolve_mount_root(const std::filesystem::path& flag) {
  std::filesystem::path root = "/app/model_cache";
  if (!flag.empty()) {
    root = flag;
  } else if (auto env = util::env("MODELCACHE_MOUNT_ROOT")) {
    root = *env;
  }
  // A relative root is taken against the working directory; should that fail, the
  // relative path is kept and check_mounts refuses it with a clear message.
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(root, ec);
  return ec ? root : absolute.lexically_normal();
}

}  // namespace modelcache::deploy
