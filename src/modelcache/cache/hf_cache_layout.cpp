#include "cache/hf_cache_layout.hpp"

#include <algorithm>

#include "util/strings.hpp"

namespace modelcache::cache {

std::string HfRepo::ref_text() const {
  return type == core::RepoType::kDataset ? "hf://datasets/" + repo_id : "hf://" + repo_id;
}

std::string hf_repo_folder(const HfRepo& repo) {
  std::string out = repo.type == core::RepoType::kDataset ? "datasets--" : "models--";
  for (char c : repo.repo_id) {
    if (c == '/') {
      out += "--";
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<HfRepo> parse_hf_repo_folder(std::string_view folder) {
  HfRepo repo;
  if (folder.starts_with("models--")) {
    folder.remove_prefix(8);
  } else if (folder.starts_with("datasets--")) {
    repo.type = core::RepoType::kDataset;
    folder.remove_prefix(10);
  } else {
    return std::nullopt;
  }
  // The Hub forbids "--" inside names, so each "--" was a '/'; at most one.
  auto sep = folder.find("--");
  std::string id(folder);
  if (sep != std::string_view::npos) {
    if (folder.find("--", sep + 2) != std::string_view::npos) return std::nullopt;
    id = std::string(folder.substr(0, sep)) + "/" + std::string(folder.substr(sep + 2));
  }
  if (id.empty() || id.front() == '/' || id.back() == '/') return std::nullopt;
  repo.repo_id = std::move(id);
  return repo;
}

std::optional<HfRepo> parse_hf_repo_arg(std::string_view text) {
  if (text.starts_with("hf://")) text.remove_prefix(5);
  HfRepo repo;
  if (text.starts_with("datasets/")) {
    repo.type = core::RepoType::kDataset;
    text.remove_prefix(9);
  } else if (text.starts_with("models/")) {
    text.remove_prefix(7);
  }
  if (text.empty() || std::count(text.begin(), text.end(), '/') > 1 || text.front() == '/' ||
      text.back() == '/' || text.find('@') != std::string_view::npos) {
    return std::nullopt;
  }
  repo.repo_id = std::string(text);
  return repo;
}

std::string HfCacheLayout::link_target(std::string_view path, std::string_view blob_name) {
  std::string out = "../../";
  for (char c : path) {
    if (c == '/') out += "../";
  }
  return out + "blobs/" + std::string(blob_name);
}

}  // namespace modelcache::cache
