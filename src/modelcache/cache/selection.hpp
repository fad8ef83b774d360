// Which files of a listing a pull takes: --allow/--ignore applied, and every
// selected path checked (invariant 4) before anything touches the filesystem.
#pragma once

#include <string>
#include <vector>

#include "modelcache/error.hpp"
#include "source/source.hpp"

namespace modelcache::cache {

struct SelectionRules {
  std::vector<std::string> allow;
  std::vector<std::string> ignore;
};

// Indices of the selected files. Errors: a selected file with a hostile name, two
// entries with the same path or a file that is also a folder ("a" and "a/b"), or
// a selection that matches no file.
Result<std::vector<std::size_t>> select_files(const std::vector<source::RemoteFile>& files,
                                              const SelectionRules& rules, std::string_view ref);

// "--allow 'a' --ignore 'b'" for messages.
std::string describe_rules(const SelectionRules& rules);

}  // namespace modelcache::cache
