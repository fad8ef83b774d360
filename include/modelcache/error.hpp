// Error type shared by the whole library: every operation a caller can handle
// returns std::expected<T, Error>; exceptions are reserved for programming errors.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace modelcache {

enum class ErrorCode {
  kInvalidArgument,   // bad flag, bad config value
  kInvalidRef,        // a model reference that does not parse
  kInvalidPath,       // a file name from an origin that could escape the cache
  kNotFound,          // repo / object / URL does not exist
  kRevisionNotFound,  // repo exists, revision does not
  kEntryNotFound,     // revision exists, file does not
  kUnauthorized,      // 401: credentials missing or wrong
  kForbidden,         // 403
  kGated,             // gated repo: access must be requested
  kNetwork,           // connection failure after all retries
  kTimeout,           // stalled or timed out after all retries
  kProtocol,          // the origin answered something that breaks the protocol
  kIntegrity,         // size or digest mismatch
  kNoSpace,           // ENOSPC / EDQUOT
  kIo,                // any other local filesystem error
  kOffline,           // offline mode and something is missing
  kNotCached,         // `path`: not fully in the cache
  kCancelled,         // the caller stopped it (Prefetch::cancel, PullOptions::stop)
  kInternal,
};

const char* to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // one line, never contains a secret
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

}  // namespace modelcache
