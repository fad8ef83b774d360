// huggingface_hub's cache folder (its file_download.py), every path built here:
//   DIR/{models|datasets}--ORG--NAME/
//     blobs/<name>              name = sha256 hex of LFS files, git blob sha1 of the others
//     snapshots/<commit>/<path> relative symlinks to ../../blobs/<name> (one ../ more per folder)
//     refs/<revision>           the commit, 40 hex, no trailing newline
// Used by `modelcache export/import --hf-cache` (cache/hf_export, cache/hf_import).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/model_ref.hpp"

namespace modelcache::cache {

namespace fs = std::filesystem;

struct HfRepo {
  core::RepoType type = core::RepoType::kModel;
  std::string repo_id;  // "org/name" (or a legacy "name")

  std::string ref_text() const;  // "hf://org/name", "hf://datasets/org/name"
};

// "models--org--name" for a model "org/name"; "datasets--org--name" for a dataset.
std::string hf_repo_folder(const HfRepo& repo);
// The inverse; nullopt for anything else (".locks", "spaces--...", "version.txt").
std::optional<HfRepo> parse_hf_repo_folder(std::string_view folder);
// "org/name", "datasets/org/name" or the same with "hf://": which repo a user named.
std::optional<HfRepo> parse_hf_repo_arg(std::string_view text);

class HfCacheLayout {
 public:
  explicit HfCacheLayout(fs::path root) : root_(std::move(root)) {}
  const fs::path& root() const { return root_; }

  fs::path repo_dir(const HfRepo& repo) const { return root_ / hf_repo_folder(repo); }
  static fs::path blobs_dir(const fs::path& repo_dir) { return repo_dir / "blobs"; }
  static fs::path blob(const fs::path& repo_dir, std::string_view name) {
    return blobs_dir(repo_dir) / std::string(name);
  }
  static fs::path snapshots_dir(const fs::path& repo_dir) { return repo_dir / "snapshots"; }
  static fs::path snapshot_dir(const fs::path& repo_dir, std::string_view commit) {
    return snapshots_dir(repo_dir) / std::string(commit);
  }
  static fs::path refs_dir(const fs::path& repo_dir) { return repo_dir / "refs"; }
  // `revision` may hold '/' ("refs/pr/1"): huggingface_hub nests it the same way.
  static fs::path ref_file(const fs::path& repo_dir, std::string_view revision) {
    return refs_dir(repo_dir) / std::string(revision);
  }
  // What snapshots/<commit>/<path> links to: "../../blobs/<name>", one "../" more
  // per folder in `path` (os.path.relpath, as huggingface_hub computes it).
  static std::string link_target(std::string_view path, std::string_view blob_name);

 private:
  fs::path root_;
};

}  // namespace modelcache::cache
