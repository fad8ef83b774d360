#include "store/layout.hpp"

#include "util/strings.hpp"

namespace modelcache::store {

// A revision such as "refs/pr/1" becomes one file name: "refs%2Fpr%2F1".
fs::path Layout::ref_file(std::string_view folder, std::string_view revision) const {
  return refs_dir(folder) / util::url_encode(revision);
}

}  // namespace modelcache::store
