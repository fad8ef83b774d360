// A local directory (or one file) as an origin: its regular files, recursively.
// Symlinked files are read through; symlinked directories are not entered, so a
// link cannot pull in a tree outside the one named (or loop).
#pragma once

#include "source/source.hpp"

namespace modelcache::source {

class FileSource final : public Source {
 public:
  Result<Listing> list(const core::ModelRef& ref, const ListOptions& options) override;
};

}  // namespace modelcache::source
