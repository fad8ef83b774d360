// A Truss `config.yaml`, read unchanged: its `model_cache:` entries (repo_id,
// revision, kind hf|s3|gcs|azure, allow_patterns, ignore_patterns, use_volume,
// volume_folder, runtime_secret_name) and `weights:` entries (source,
// mount_location, allow_patterns, ignore_patterns, auth_secret_name). Every other
// top-level key (the rest of a Truss config) is ignored.
//
// Each entry becomes a modelcache ref plus selection, secret name and mount:
//   model_cache, kind hf (default):  hf://<repo_id>, revision = `revision`
//   model_cache, kind s3|gcs|azure:  repo_id is the full s3://, gs://, azure:// (az://)
//                                    URL; `revision` is ignored (a bucket prefix has
//                                    no branches; `modelcache lock` pins it)
//   weights:                         `source` as written (hf://owner/repo@rev, s3://,
//                                    gs://, azure://, https://, or a local path)
// Mounts: a model_cache entry with `volume_folder` mounts at <mount root>/<folder>
// unless `use_volume: false` (then it is only cached); a weights entry mounts at its
// absolute `mount_location`.
// Secrets: a model_cache Hub entry without runtime_secret_name uses Truss's default
// "hf_access_token" if that secret exists; weights entries use only an explicit
// auth_secret_name (as Truss's weights docs require), else HF_TOKEN for the Hub.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"

namespace modelcache::deploy {

enum class Section { kModelCache, kWeights };

struct Entry {
  Section section = Section::kModelCache;
  std::size_t index = 0;         // position in its section
  int line = 0;                  // 1-based YAML line of the entry
  std::string written;           // repo_id / source as written in the file
  std::string ref;               // the modelcache ref to pull
  std::string revision;          // Hub revision (model_cache `revision`); empty = ref's own
  std::vector<std::string> allow;
  std::vector<std::string> ignore;
  std::string secret_name;       // runtime_secret_name / auth_secret_name; empty = none
  // Truss's default runtime_secret_name for Hub entries is "hf_access_token": when
  // the config names none, that secret is used if it exists and skipped if not.
  bool secret_optional = false;
  std::string volume_folder;     // model_cache: relative folder under the mount root
  std::filesystem::path mount_location;  // weights: absolute mount path
  bool mount = false;            // whether the entry is laid out somewhere

  // "model_cache[2] stabilityai/stable-diffusion-xl-refiner-1.0": how errors name it.
  std::string label() const;
  // What the config asks for, as a lock file records it: "org/name@main", or the source.
  std::string source_as_written() const;
  // Where it is mounted, or nullopt when it is only cached.
  std::optional<std::filesystem::path> mount_path(const std::filesystem::path& mount_root) const;
};

struct DeployConfig {
  std::filesystem::path file;  // where it was read from (for messages); may be empty
  std::vector<Entry> entries;  // model_cache entries first, then weights
};

std::string_view to_string(Section section);

// A source or model id as it may be shown or recorded: a signed http(s) URL carries
// its credential in the query, so that is redacted (net::redact_url).
std::string shown_source(std::string_view source);

// Errors are one line: "<file>:<line>: model_cache[1] org/name: <what is wrong>".
Result<DeployConfig> parse_truss_config(std::string_view yaml, const std::filesystem::path& file = {});
Result<DeployConfig> load_truss_config(const std::filesystem::path& file);

// --mount-root, else MODELCACHE_MOUNT_ROOT, else /app/model_cache (Truss's default);
// a relative root is made absolute against the working directory.
std::filesystem::path resolve_mount_root(const std::filesystem::path& flag);

}  // namespace modelcache::deploy
