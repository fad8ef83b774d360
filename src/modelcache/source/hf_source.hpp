// Hugging Face Hub origin: revision -> commit, then the recursive tree of that
// commit (paginated), each file resolved against the commit so the listing is
// immutable even when the branch moves during the download.
#pragma once

#include "core/config.hpp"
#include "source/source.hpp"

namespace modelcache::source {

class HfSource final : public Source {
 public:
  explicit HfSource(const core::Config& config);
  Result<Listing> list(const core::ModelRef& ref, const ListOptions& options) override;

 private:
  std::string endpoint_;  // no trailing '/'
  core::TransferSettings transfer_;
};

}  // namespace modelcache::source
