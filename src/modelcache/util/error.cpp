#include "modelcache/error.hpp"

namespace modelcache {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kInvalidRef: return "invalid reference";
    case ErrorCode::kInvalidPath: return "invalid path";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kRevisionNotFound: return "revision not found";
    case ErrorCode::kEntryNotFound: return "entry not found";
    case ErrorCode::kUnauthorized: return "unauthorized";
    case ErrorCode::kForbidden: return "forbidden";
    case ErrorCode::kGated: return "gated";
    case ErrorCode::kNetwork: return "network error";
    case ErrorCode::kTimeout: return "timeout";
    case ErrorCode::kProtocol: return "protocol error";
    case ErrorCode::kIntegrity: return "integrity error";
    case ErrorCode::kNoSpace: return "no space left";
    case ErrorCode::kIo: return "i/o error";
    case ErrorCode::kOffline: return "offline";
    case ErrorCode::kNotCached: return "not cached";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown error";
}

}  // namespace modelcache
