#include "cache/selection.hpp"

#include <algorithm>
#include <set>

#include "util/glob.hpp"
#include "util/path_check.hpp"

namespace modelcache::cache {

bool selects(const SelectionRules& rules, std::string_view path) {
  if (!rules.exact.empty() && !std::binary_search(rules.exact.begin(), rules.exact.end(), path)) return false;
  return util::is_selected(path, rules.allow, rules.ignore);
}

std::string describe_rules(const SelectionRules& rules) {
  std::string out;
  if (!rules.exact.empty()) out = "the package's " + std::to_string(rules.exact.size()) + " file(s)";
  for (const auto& a : rules.allow) out += (out.empty() ? "" : " ") + std::string("--allow '") + a + "'";
  for (const auto& i : rules.ignore) out += (out.empty() ? "" : " ") + std::string("--ignore '") + i + "'";
  return out.empty() ? "(no filter)" : out;
}

Result<std::vector<std::size_t>> select_files(const std::vector<source::RemoteFile>& files,
                                              const SelectionRules& rules, std::string_view ref) {
  std::vector<std::size_t> selected;
  std::set<std::string> paths;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& path = files[i].path;
    if (!selects(rules, path)) continue;
    if (auto ok = util::validate_origin_path(path); !ok) return std::unexpected(ok.error());
    if (!paths.insert(path).second) {
      return fail(ErrorCode::kProtocol, "origin lists '" + path + "' twice in " + std::string(ref));
    }
    selected.push_back(i);
  }
  // A path that is both a file and a folder cannot be laid out as a tree.
  for (const auto& p : paths) {
    for (std::size_t slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1)) {
      if (paths.count(p.substr(0, slash))) {
        return fail(ErrorCode::kProtocol, "origin lists '" + p.substr(0, slash) +
                                              "' both as a file and as a folder in " + std::string(ref));
      }
    }
  }
  if (selected.empty() && rules.empty == EmptySelection::kError) {
    return fail(ErrorCode::kEntryNotFound,
                "no file of " + std::string(ref) + " (" + std::to_string(files.size()) +
                    " files) matches " + describe_rules(rules));
  }
  return selected;
}

}  // namespace modelcache::cache
