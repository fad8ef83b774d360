// Base64 (RFC 4648) for what origins put in headers and JSON: Content-MD5,
// md5Hash/crc32c, Azure account keys and signatures, JWT segments.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace modelcache::util {

// Standard alphabet with padding; nullopt for a wrong length, a character
// outside the alphabet or padding anywhere but the end.
std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);
// URL-safe alphabet without padding (JWT segments).
std::string base64url_encode(std::string_view bytes);
// Decodes and checks the length: lower-case hex of exactly `bytes` bytes, or nullopt.
std::optional<std::string> base64_to_hex(std::string_view text, std::size_t bytes);

}  // namespace modelcache::util
