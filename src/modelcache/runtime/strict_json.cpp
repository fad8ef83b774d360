#include "runtime/strict_json.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "util/strings.hpp"

namespace modelcache::runtime {

using nlohmann::json;

Result<json> parse_strict_json(std::string_view text, std::string_view what) {
  std::vector<std::set<std::string>> open_objects;  // the keys seen in each object being parsed
  std::optional<std::string> duplicate;
  auto on_event = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second && !duplicate) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  // nlohmann reports syntax errors (and ill-formed UTF-8 in strings) by exception;
  // it stays inside this function.
  try {
    json doc = json::parse(text.begin(), text.end(), on_event);
    if (duplicate) {
      return fail(ErrorCode::kIntegrity,
                  std::string(what) + ": duplicate key '" + util::printable(*duplicate) + "'");
    }
    return doc;
  } catch (const json::parse_error& e) {
    return fail(ErrorCode::kIntegrity, std::string(what) + ": not valid JSON (byte " +
                                           std::to_string(e.byte) +
                                           "); the file is corrupt or not in this format");
  }
}

}  // namespace modelcache::runtime
