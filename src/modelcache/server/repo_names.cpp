#include "server/repo_names.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace modelcache::server {

Status RepoNames::add(std::string_view spec) {
  auto eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size()) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("--repo '{}': expected NAME=REF, e.g. local/my-model=s3://bucket/prefix", spec));
  }
  std::string name(spec.substr(0, eq));
  std::string target_text(spec.substr(eq + 1));
  // Clients name it as a Hub model repo: it must parse as one (ORG/NAME, no revision).
  auto hub = core::parse_ref("hf://" + name);
  if (!hub || name.find('@') != std::string::npos || name.find('/') == std::string::npos ||
      hub->repo_type != core::RepoType::kModel) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("--repo {}: NAME must be a Hub model id ORG/NAME (letters, digits, '-', '_', '.')", name));
  }
  auto target = core::parse_ref(target_text);
  if (!target) return fail(ErrorCode::kInvalidArgument, fmt::format("--repo {}: {}", name, target.error().message));
  std::string hub_id = hub->id();
  if (std::any_of(names_.begin(), names_.end(), [&](const RepoName& n) { return n.hub_id == hub_id; })) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("--repo {}: the name is given twice", name));
  }
  names_.push_back(RepoName{std::move(name), std::move(hub_id), std::move(target_text), std::move(*target)});
  return {};
}

const RepoName* RepoNames::find(const core::ModelRef& hub_repo) const {
  if (hub_repo.kind != core::RefKind::kHuggingFace || hub_repo.repo_type != core::RepoType::kModel) return nullptr;
  std::string id = hub_repo.id();
  auto it = std::find_if(names_.begin(), names_.end(), [&](const RepoName& n) { return n.hub_id == id; });
  return it == names_.end() ? nullptr : &*it;
}

}  // namespace modelcache::server
