// Which files of a listing a pull takes: --allow/--ignore applied, and every
// selected path checked (invariant 4) before anything touches the filesystem.
#pragma once

#include <string>
#include <vector>

#include "modelcache/error.hpp"
#include "source/source.hpp"

namespace modelcache::cache {

enum class EmptySelection { kError, kAllowed };

struct SelectionRules {
  std::vector<std::string> allow;
  std::vector<std::string> ignore;
  // Sorted exact paths (a package's files, doc/PACKAGES.md); empty = no such
  // limit. A path must be in it and pass allow/ignore.
  std::vector<std::string> exact;
  // kAllowed: selecting nothing is not an error (fetching a package manifest a
  // model may not have).
  EmptySelection empty = EmptySelection::kError;
};

bool selects(const SelectionRules& rules, std::string_view path);

// Indices of the selected files. Errors: a selected file with a hostile name, two
// entries with the same path or a file that is also a folder ("a" and "a/b"), or
// a selection that matches no file.
Result<std::vector<std::size_t>> select_files(const std::vector<source::RemoteFile>& files,
                                              const SelectionRules& rules, std::string_view ref);

// "--allow 'a' --ignore 'b'" for messages.
std::string describe_rules(const SelectionRules& rules);

}  // namespace modelcache::cache
