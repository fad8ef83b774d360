#include "transfer/response_check.hpp"

#include <fmt/format.h>

#include <charconv>

#include "net/http_client.hpp"
#include "net/retry.hpp"
#include "transfer/engine.hpp"
#include "util/strings.hpp"

namespace modelcache::transfer {

namespace {

CheckResult fatal(Error error) {
  return CheckResult{Verdict::kFatal, 0, std::nullopt, std::nullopt, std::move(error)};
}

CheckResult fatal(ErrorCode code, std::string message) {
  return fatal(Error{code, std::move(message)});
}

CheckResult retry(ErrorCode code, std::string message) {
  return CheckResult{Verdict::kRetry, 0, std::nullopt, std::nullopt,
                     Error{code, std::move(message)}};
}

ErrorCode code_for_status(long status) {
  switch (status) {
    case 401:
      return ErrorCode::kUnauthorized;
    case 403:
      return ErrorCode::kForbidden;
    case 404:
    case 410:
      return ErrorCode::kNotFound;
    default:
      return ErrorCode::kProtocol;
  }
}

}  // namespace

Error size_mismatch(std::string_view label, std::uint64_t expected, std::uint64_t got) {
  return Error{
      ErrorCode::kIntegrity,
      fmt::format("{}: size mismatch: expected {} bytes, origin has {}; nothing was stored", label,
                  expected, got)};
}

std::optional<ContentRange> parse_content_range(std::string_view value) {
  value = util::trim(value);
  constexpr std::string_view kUnit = "bytes ";
  if (value.size() < kUnit.size() || !util::iequals(value.substr(0, kUnit.size()), kUnit)) {
    return std::nullopt;
  }
  value.remove_prefix(kUnit.size());
  auto dash = value.find('-');
  auto slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) {
    return std::nullopt;
  }
  auto first = util::parse_u64(value.substr(0, dash));
  auto last = util::parse_u64(value.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  ContentRange out{*first, *last, std::nullopt};
  std::string_view total = value.substr(slash + 1);
  if (total != "*") {
    out.total = util::parse_u64(total);
    if (!out.total || *out.total <= *last) return std::nullopt;
  }
  return out;
}

std::string range_header(const RequestedRange& r) {
  if (r.end) return fmt::format("Range: bytes={}-{}", r.begin, *r.end - 1);
  return fmt::format("Range: bytes={}-", r.begin);
}

CheckResult check_response(const ResponseHead& head, const std::optional<RequestedRange>& requested,
                           std::uint64_t expected_size, std::string_view label,
                           std::string_view url) {
  const std::string where = net::redact_url(url);
  const bool known = expected_size != kUnknownSize;
  if (net::is_retryable_status(head.status)) {
    CheckResult r = retry(head.status >= 500 ? ErrorCode::kNetwork : ErrorCode::kProtocol,
                          fmt::format("{}: HTTP {} from {}", label, head.status, where));
    if (head.retry_after) r.retry_after = net::parse_retry_after(*head.retry_after);
    return r;
  }
  std::optional<std::uint64_t> length;
  if (head.content_length) length = util::parse_u64(util::trim(*head.content_length));

  if (head.status == 200) {
    // A full body answers a ranged request only when the range was the whole file.
    bool whole = requested && requested->begin == 0 &&
                 (!requested->end || (known && *requested->end == expected_size));
    if (requested && !whole) {
      CheckResult r;
      r.verdict = Verdict::kRangeIgnored;
      return r;
    }
    if (known && length && *length != expected_size) {
      return fatal(size_mismatch(label, expected_size, *length));
    }
    return CheckResult{Verdict::kAccept, 0, length, std::nullopt, {}};
  }

  if (head.status == 206) {
    if (!requested) {
      return retry(ErrorCode::kProtocol,
                   fmt::format("{}: HTTP 206 to a request without Range from {}", label, where));
    }
    auto cr = head.content_range ? parse_content_range(*head.content_range) : std::nullopt;
    if (!cr) {
      return retry(ErrorCode::kProtocol,
                   fmt::format("{}: HTTP 206 without a valid Content-Range from {}", label, where));
    }
    if (known && cr->total && *cr->total != expected_size) {
      return fatal(size_mismatch(label, expected_size, *cr->total));
    }
    std::optional<std::uint64_t> want_last;
    if (requested->end) {
      want_last = *requested->end - 1;
    } else if (cr->total) {
      want_last = *cr->total - 1;
    } else if (known) {
      want_last = expected_size - 1;
    }
    bool matches = cr->first == requested->begin && (!want_last || cr->last == *want_last) &&
                   (!length || *length == cr->last - cr->first + 1);
    if (!matches) {
      return retry(
          ErrorCode::kProtocol,
          fmt::format("{}: Content-Range '{}' does not match the requested {} from {}", label,
                      *head.content_range, range_header(*requested).substr(7), where));
    }
    return CheckResult{Verdict::kAccept, cr->first, cr->total, std::nullopt, {}};
  }

  // "416 Range Not Satisfiable" with "bytes */N": the origin's file has N bytes. When
  // that is not what the listing said, the file changed: a size mismatch, not a
  // protocol error.
  if (head.status == 416 && known && head.content_range) {
    std::string_view cr = util::trim(*head.content_range);
    if (cr.starts_with("bytes */")) {
      auto total = util::parse_u64(cr.substr(8));
      if (total && *total != expected_size)
        return fatal(size_mismatch(label, expected_size, *total));
    }
  }
  if (head.status >= 400 && head.status < 500) {
    return fatal(code_for_status(head.status),
                 fmt::format("{}: HTTP {} from {}", label, head.status, where));
  }
  return fatal(ErrorCode::kProtocol,
               fmt::format("{}: unexpected HTTP {} from {}", label, head.status, where));
}

}  // namespace modelcache::transfer
