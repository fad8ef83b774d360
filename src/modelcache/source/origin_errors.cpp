#include "source/origin_errors.hpp"

#include <fmt/format.h>

namespace modelcache::source {

Error status_error(long status, std::string_view subject, TokenSent token_sent) {
  std::string what = printable(subject);
  switch (status) {
    case 401:
      return {ErrorCode::kUnauthorized,
              token_sent == TokenSent::kYes
                  ? fmt::format("{}: the credentials were rejected (HTTP 401): they are invalid "
                                "or expired",
                                what)
                  : fmt::format("{}: authentication required (HTTP 401): no credentials were "
                                "sent",
                                what)};
    case 403:
      return {ErrorCode::kForbidden,
              fmt::format("{}: access denied (HTTP 403): the credentials lack permission", what)};
    case 404:
    case 410:
      return {ErrorCode::kNotFound, fmt::format("{}: not found (HTTP {})", what, status)};
    default:
      break;
  }
  if (status >= 500) {
    return {ErrorCode::kNetwork,
            fmt::format("{}: server error HTTP {} after retries; try again later", what, status)};
  }
  return {ErrorCode::kProtocol, fmt::format("{}: unexpected HTTP {}", what, status)};
}

std::string scrub(std::string text, const std::optional<std::string>& secret) {
  if (!secret || secret->empty()) return text;
  for (auto pos = text.find(*secret); pos != std::string::npos; pos = text.find(*secret, pos)) {
    text.replace(pos, secret->size(), "<redacted>");
    pos += 10;
  }
  return text;
}

}  // namespace modelcache::source
