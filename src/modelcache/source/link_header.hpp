// RFC 8288 Link headers, as the Hub uses them to paginate tree listings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace modelcache::source {

// The target of the first link whose rel contains "next", as written (maybe relative).
std::optional<std::string> next_link(std::string_view header_value);

// `reference` made absolute against `base` (an absolute http(s) URL without query):
// absolute URLs stay; "//host/p" takes base's scheme; "/p" takes base's origin;
// anything else is appended to base with a '/'.
std::string resolve_url(std::string_view base, std::string_view reference);

// Same scheme and host:port (default ports filled in), so credentials meant for one
// may be sent to the other.
bool same_origin(std::string_view a, std::string_view b);

}  // namespace modelcache::source
