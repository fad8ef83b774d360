// The daemon's counters and the GET /metrics route (Prometheus text exposition
// format 0.0.4, written by hand). Every counter is a relaxed atomic bumped where
// its event happens: no lock on the request path. Routes and status codes are
// fixed small sets so that {route,code} is an array index, not a map.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "server/http_message.hpp"

namespace modelcache::server {

enum class Route : std::uint8_t { kHubApi, kResolve, kPull, kJobs, kModels, kInfer, kMetrics, kHealth, kOther, kCount };

// Prometheus text 0.0.4 pieces, shared by Metrics and ModelMetrics:
// "# HELP"/"# TYPE" lines, and one histogram series from per-bucket (not
// cumulative) counts over Metrics::kBuckets. `labels` is e.g. `route="resolve"`.
void prometheus_header(std::string& out, std::string_view name, std::string_view type, std::string_view help);
void prometheus_histogram(std::string& out, std::string_view name, std::string_view labels,
                          std::span<const std::uint64_t> per_bucket, std::uint64_t count, double sum);
// The Metrics::kBuckets index a duration falls in; kBuckets.size() when above them all.
std::size_t duration_bucket(double seconds);

// Which Route label a request path gets (by its shape only; no validation).
Route route_of(const HttpRequest& request);

class Metrics {
 public:
  static constexpr std::array<double, 10> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

  void record_request(Route route, int status, double seconds);
  void add_served(std::uint64_t bytes) { served_bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  void add_fetched(std::uint64_t bytes) { fetched_bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  void cache_hit() { hits_.fetch_add(1, std::memory_order_relaxed); }
  void cache_miss() { misses_.fetch_add(1, std::memory_order_relaxed); }
  void upstream_error() { upstream_errors_.fetch_add(1, std::memory_order_relaxed); }
  void pull_started() { pulls_in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void pull_finished() { pulls_in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  // The exposition text: # HELP and # TYPE, then one sample a line.
  std::string render() const;

 private:
  static constexpr std::size_t kRoutes = static_cast<std::size_t>(Route::kCount);
  static constexpr std::size_t kCodes = 500;  // status 100..599

  struct Histogram {
    std::array<std::atomic<std::uint64_t>, kBuckets.size()> buckets{};  // not cumulative; summed on render
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_micros{0};
  };

  std::atomic<std::uint64_t> served_bytes_{0};
  std::atomic<std::uint64_t> fetched_bytes_{0};
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> upstream_errors_{0};
  std::atomic<std::int64_t> pulls_in_flight_{0};
  std::array<std::array<std::atomic<std::uint64_t>, kCodes>, kRoutes> requests_{};
  std::array<Histogram, kRoutes> durations_{};
};

// GET /metrics; std::nullopt for other paths.
std::optional<HttpResponse> metrics_route(const HttpRequest& request, const Metrics& metrics);

}  // namespace modelcache::server
