// `modelcache serve --repo NAME=REF`: a model from any origin (S3, GCS, Azure,
// HTTP, a local path, or another Hub repo) served by the mirror as the Hub model
// repo NAME (e.g. "local/my-model"), so that HF_ENDPOINT clients fetch it
// unchanged. A configured name shadows the upstream repo of the same name.
// Revisions: "main" is REF as configured; the snapshot id (40 hex, the `sha`
// the repo info answers) names the same snapshot; anything else is
// RevisionNotFound.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/model_ref.hpp"
#include "modelcache/error.hpp"

namespace modelcache::server {

struct RepoName {
  std::string name;          // "local/my-model": the Hub repo id clients use
  std::string hub_id;        // "hf://local/my-model": its model id (what tenant globs match)
  std::string target_text;   // REF as given (Cache::pull reads its @revision)
  core::ModelRef target;     // REF parsed
};

class RepoNames {
 public:
  // One "NAME=REF"; kInvalidArgument (one line) for a bad name, a bad ref or a
  // name given twice.
  Status add(std::string_view spec);
  // The configured name of a Hub model repo, or null.
  const RepoName* find(const core::ModelRef& hub_repo) const;
  const std::vector<RepoName>& all() const { return names_; }

 private:
  std::vector<RepoName> names_;
};

}  // namespace modelcache::server
