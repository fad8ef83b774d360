#include "net/retry.hpp"

#include <algorithm>
#include <ctime>
#include <random>
#include <string>

#include "util/strings.hpp"

namespace modelcache::net {

using std::chrono::milliseconds;

bool is_retryable_status(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

milliseconds backoff_delay(int attempt, milliseconds base, std::optional<milliseconds> retry_after) {
  constexpr milliseconds kCap{60000};
  long long ceiling = base.count();
  for (int i = 1; i < attempt && ceiling < kCap.count(); ++i) ceiling *= 2;
  ceiling = std::min<long long>(ceiling, kCap.count());
  thread_local std::mt19937_64 rng{std::random_device{}()};
  // Full jitter: spreads retries of many clients that failed together.
  milliseconds delay{ceiling > 0 ? static_cast<long long>(rng() % (ceiling + 1)) : 0};
  if (retry_after) delay = std::max(delay, std::min(*retry_after, kCap * 5));
  return delay;
}

std::optional<milliseconds> parse_retry_after(std::string_view value) {
  value = util::trim(value);
  if (value.empty()) return std::nullopt;
  if (auto n = util::parse_int(value)) {
    if (*n < 0) return std::nullopt;
    return milliseconds(*n * 1000);
  }
  std::tm tm{};
  std::string s(value);
  if (!strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return std::nullopt;
  std::time_t when = timegm(&tm);
  std::time_t now = std::time(nullptr);
  return milliseconds(std::max<long long>(0, static_cast<long long>(when - now)) * 1000);
}

}  // namespace modelcache::net
