// File selection with --allow / --ignore, matching huggingface_hub's rules:
// fnmatch without FNM_PATHNAME ('*' also matches '/'), and a pattern ending in
// '/' matches everything below that folder. Ignore wins over allow.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace modelcache::util {

bool glob_match(std::string_view pattern, std::string_view path);
bool is_selected(std::string_view path, const std::vector<std::string>& allow,
                 const std::vector<std::string>& ignore);

}  // namespace modelcache::util
