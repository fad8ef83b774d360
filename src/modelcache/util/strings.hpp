// Small string helpers used across modules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelcache::util {

std::string to_lower(std::string_view s);
std::string_view trim(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::vector<std::string> split(std::string_view s, char sep);
// RFC 3986 percent-encoding; characters in `keep` are left as they are.
std::string url_encode(std::string_view s, std::string_view keep = "");
// Inverse of url_encode; malformed escapes are kept as they are.
std::string url_decode(std::string_view s);
// "1.5GiB", "200M", "1024" -> bytes.
std::optional<std::uint64_t> parse_size(std::string_view s);
std::optional<std::int64_t> parse_int(std::string_view s);
// Decimal digits only (no sign, no spaces); nullopt on overflow.
std::optional<std::uint64_t> parse_u64(std::string_view s);
std::string format_bytes(std::uint64_t bytes);
// One line for a message: control bytes escaped as \xNN, at most `max_chars`
// (then "..."), so that a hostile name cannot inject newlines or flood the terminal.
std::string printable(std::string_view text, std::size_t max_chars = 200);
// Value of an environment variable; std::nullopt when unset or empty.
std::optional<std::string> env(const char* name);

}  // namespace modelcache::util
