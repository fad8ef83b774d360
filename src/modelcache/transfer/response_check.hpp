// Is this response what we asked for? Pure functions over the status line and
// headers, decided before a single body byte is written.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "modelcache/error.hpp"

namespace modelcache::transfer {

struct ContentRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;              // inclusive, as on the wire
  std::optional<std::uint64_t> total;  // nullopt for "/*"
  bool operator==(const ContentRange&) const = default;
};

// "bytes 0-99/1000" or "bytes 0-99/*"; nullopt for anything else (including
// "bytes */1000", which only a 416 carries).
std::optional<ContentRange> parse_content_range(std::string_view value);

// "<label>: size mismatch: expected N bytes, origin has M; nothing was stored" (kIntegrity).
Error size_mismatch(std::string_view label, std::uint64_t expected, std::uint64_t got);

// What we asked for: no Range header, or bytes=begin-(end-1), or bytes=begin- .
struct RequestedRange {
  std::uint64_t begin = 0;
  std::optional<std::uint64_t> end;  // exclusive; nullopt = to the end of the file
};
std::string range_header(const RequestedRange& r);

struct ResponseHead {
  long status = 0;
  std::optional<std::string> content_range;
  std::optional<std::string> content_length;
  std::optional<std::string> retry_after;
  std::optional<std::string> etag;
};

enum class Verdict {
  kAccept,        // write the body starting at body_offset
  kRangeIgnored,  // 200 to a ranged request: fetch the file as one stream
  kRetry,         // transient: try this request again
  kFatal,         // this file cannot be fetched; `error` says why
};

struct CheckResult {
  Verdict verdict = Verdict::kFatal;
  std::uint64_t body_offset = 0;       // file offset of the first body byte
  std::optional<std::uint64_t> total;  // file size the origin reported, if any
  std::optional<std::chrono::milliseconds> retry_after;
  Error error;
};

// `expected_size` is kUnknownSize when the listing did not give one. `url` is
// redacted before it appears in an error.
CheckResult check_response(const ResponseHead& head, const std::optional<RequestedRange>& requested,
                           std::uint64_t expected_size, std::string_view label,
                           std::string_view url);

}  // namespace modelcache::transfer
