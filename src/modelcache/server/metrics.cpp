#include "server/metrics.hpp"

#include <cmath>

#include <fmt/format.h>

namespace modelcache::server {

namespace {

constexpr auto kRouteNames = std::to_array<const char*>(
    {"hub_api", "resolve", "v1_pull", "v1_jobs", "v1_models", "v1_infer", "metrics", "health", "other"});
static_assert(kRouteNames.size() == static_cast<std::size_t>(Route::kCount), "one name per Route");

std::uint64_t load(const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); }

}  // namespace

void prometheus_header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void prometheus_histogram(std::string& out, std::string_view name, std::string_view labels,
                          std::span<const std::uint64_t> per_bucket, std::uint64_t count, double sum) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < Metrics::kBuckets.size(); ++i) {
    cumulative += per_bucket[i];
    out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, Metrics::kBuckets[i], cumulative);
  }
  out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, count);
  out += fmt::format("{}_sum{{{}}} {}\n", name, labels, sum);
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, count);
}

std::size_t duration_bucket(double seconds) {
  std::size_t i = 0;
  while (i < Metrics::kBuckets.size() && seconds > Metrics::kBuckets[i]) ++i;
  return i;
}

Route route_of(const HttpRequest& request) {
  std::string_view p = request.path;
  if (p == "/metrics") return Route::kMetrics;
  if (p == "/healthz" || p == "/readyz") return Route::kHealth;
  if (p == "/v1/pull") return Route::kPull;
  if (p.starts_with("/v1/jobs/")) return Route::kJobs;
  if (p == "/v1/models" || p.starts_with("/v1/models/")) return Route::kModels;
  if (p.starts_with("/v1/infer/")) return Route::kInfer;
  if (p.starts_with("/api/")) return Route::kHubApi;
  if (p.find("/resolve/") != std::string_view::npos) return Route::kResolve;
  return Route::kOther;
}

void Metrics::record_request(Route route, int status, double seconds) {
  auto r = static_cast<std::size_t>(route);
  if (r >= kRoutes) r = static_cast<std::size_t>(Route::kOther);
  if (status >= 100 && status < 600) requests_[r][status - 100].fetch_add(1, std::memory_order_relaxed);
  Histogram& h = durations_[r];
  if (auto i = duration_bucket(seconds); i < kBuckets.size()) h.buckets[i].fetch_add(1, std::memory_order_relaxed);
  h.count.fetch_add(1, std::memory_order_relaxed);
  h.sum_micros.fetch_add(static_cast<std::uint64_t>(std::llround(seconds * 1e6)), std::memory_order_relaxed);
}

std::string Metrics::render() const {
  std::string out;
  auto counter = [&](std::string_view name, std::string_view help, std::uint64_t value) {
    prometheus_header(out, name, "counter", help);
    out += fmt::format("{} {}\n", name, value);
  };
  counter("modelcache_served_bytes_total", "Response body bytes sent to clients.", load(served_bytes_));
  counter("modelcache_fetched_bytes_total", "Bytes downloaded from upstream origins.", load(fetched_bytes_));
  counter("modelcache_cache_hits_total", "Snapshot lookups answered by the store without the upstream.",
          load(hits_));
  counter("modelcache_cache_misses_total", "Snapshot lookups that needed a pull from the upstream.",
          load(misses_));
  counter("modelcache_upstream_errors_total", "Pulls that failed because of the upstream or the network.",
          load(upstream_errors_));
  prometheus_header(out, "modelcache_pulls_in_flight", "gauge", "Pulls running now.");
  out += fmt::format("modelcache_pulls_in_flight {}\n", pulls_in_flight_.load(std::memory_order_relaxed));

  prometheus_header(out, "modelcache_requests_total", "counter", "HTTP requests answered, by route and status code.");
  for (std::size_t r = 0; r < kRoutes; ++r) {
    for (std::size_t c = 0; c < kCodes; ++c) {
      if (auto n = load(requests_[r][c])) {
        out += fmt::format("modelcache_requests_total{{route=\"{}\",code=\"{}\"}} {}\n", kRouteNames[r], c + 100, n);
      }
    }
  }
  prometheus_header(out, "modelcache_request_duration_seconds", "histogram", "Time to compute a response, by route.");
  for (std::size_t r = 0; r < kRoutes; ++r) {
    const Histogram& h = durations_[r];
    std::array<std::uint64_t, kBuckets.size()> per_bucket{};
    for (std::size_t i = 0; i < kBuckets.size(); ++i) per_bucket[i] = load(h.buckets[i]);
    prometheus_histogram(out, "modelcache_request_duration_seconds", fmt::format("route=\"{}\"", kRouteNames[r]),
                         per_bucket, load(h.count), static_cast<double>(load(h.sum_micros)) / 1e6);
  }
  return out;
}

std::optional<HttpResponse> metrics_route(const HttpRequest& request, const Metrics& metrics) {
  if (request.path != "/metrics") return std::nullopt;
  if (!request.is_read()) return error_response(405, "", "method not allowed");
  HttpResponse r;
  r.body = metrics.render();
  r.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  return r;
}

}  // namespace modelcache::server
