// Turning an origin's HTTP status into one actionable error line, shared by the
// origins; the Hub adds its X-Error-Code vocabulary on top (hf_errors.hpp).
// Every text that ends up in a message passes through printable() so that a
// hostile server or file name cannot inject newlines or flood the terminal.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "modelcache/error.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

// Whether a request carried credentials: the advice differs (pass one / fix it).
enum class TokenSent { kNo, kYes };

// `subject` names what was asked for, e.g. a URL without its query string.
// 401 -> kUnauthorized, 403 -> kForbidden, 404/410 -> kNotFound, 5xx -> kNetwork,
// anything else that is not 2xx -> kProtocol.
Error status_error(long status, std::string_view subject, TokenSent token_sent);

// A listing that hands out the same page token forever must not loop forever.
inline constexpr int kMaxListPages = 1000000;

// One line, control bytes escaped (util/strings.hpp; the runtime's loaders use it too).
using util::printable;

// `text` with every occurrence of `secret` replaced, for server-supplied text
// that might echo a credential back.
std::string scrub(std::string text, const std::optional<std::string>& secret);

}  // namespace modelcache::source
