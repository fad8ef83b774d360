// JSON for file formats that must be read one way only: nlohmann keeps the last
// of two equal keys, so a header naming a tensor twice would load silently with
// one of them. This parser refuses duplicate keys at any depth.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "modelcache/error.hpp"

namespace modelcache::runtime {

// `what` starts each error ("<file>: header"); the rest of the line says what is
// wrong (syntax error with its byte offset, or the duplicate key). kIntegrity.
Result<nlohmann::json> parse_strict_json(std::string_view text, std::string_view what);

}  // namespace modelcache::runtime
