// The one retry policy shared by metadata requests and the transfer engine:
// exponential backoff with full jitter, capped, and Retry-After wins when longer.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace modelcache::net {

// 408, 429 and every 5xx are worth another try.
bool is_retryable_status(long status);

// Delay before attempt number `attempt` (1 = first retry): random in
// [0, base * 2^(attempt-1)], at most 60 s; at least `retry_after` when given.
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds base,
                                        std::optional<std::chrono::milliseconds> retry_after);

// Retry-After as delta-seconds or an HTTP-date; nullopt when unparsable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

}  // namespace modelcache::net
