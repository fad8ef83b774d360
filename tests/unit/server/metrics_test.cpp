// The /metrics text: route labels, {route,code} counters, cumulative histogram
// buckets (the routes themselves are covered end to end by test_serve_api.py).
#include "server/metrics.hpp"

#include <gtest/gtest.h>

using namespace modelcache::server;

namespace {

HttpRequest get(std::string path) {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  return r;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST(Metrics, RouteOfPathShapes) {
  EXPECT_EQ(route_of(get("/metrics")), Route::kMetrics);
  EXPECT_EQ(route_of(get("/readyz")), Route::kHealth);
  EXPECT_EQ(route_of(get("/v1/pull")), Route::kPull);
  EXPECT_EQ(route_of(get("/v1/jobs/abc")), Route::kJobs);
  EXPECT_EQ(route_of(get("/v1/models")), Route::kModels);
  EXPECT_EQ(route_of(get("/v1/models/hf%3A%2F%2Fa%2Fb")), Route::kModels);
  EXPECT_EQ(route_of(get("/api/models/org/m/revision/main")), Route::kHubApi);
  EXPECT_EQ(route_of(get("/org/m/resolve/main/config.json")), Route::kResolve);
  EXPECT_EQ(route_of(get("/datasets/org/d/resolve/main/a.csv")), Route::kResolve);
  EXPECT_EQ(route_of(get("/v1/infer/hf%3A%2F%2Fa%2Fb")), Route::kInfer);
  EXPECT_EQ(route_of(get("/nope")), Route::kOther);
}

TEST(Metrics, RenderCountersAndCumulativeBuckets) {
  Metrics m;
  m.add_served(10);
  m.add_served(5);
  m.add_fetched(7);
  m.cache_hit();
  m.cache_miss();
  m.cache_miss();
  m.pull_started();
  m.record_request(Route::kResolve, 200, 0.001);
  m.record_request(Route::kResolve, 200, 0.2);
  m.record_request(Route::kResolve, 404, 30);
  m.record_request(Route::kPull, 999, 0.001);  // not a status: only the histogram counts it
  std::string text = "\n" + m.render();
  EXPECT_TRUE(has_line(text, "# TYPE modelcache_served_bytes_total counter"));
  EXPECT_TRUE(has_line(text, "modelcache_served_bytes_total 15"));
  EXPECT_TRUE(has_line(text, "modelcache_fetched_bytes_total 7"));
  EXPECT_TRUE(has_line(text, "modelcache_cache_hits_total 1"));
  EXPECT_TRUE(has_line(text, "modelcache_cache_misses_total 2"));
  EXPECT_TRUE(has_line(text, "# TYPE modelcache_pulls_in_flight gauge"));
  EXPECT_TRUE(has_line(text, "modelcache_pulls_in_flight 1"));
  EXPECT_TRUE(has_line(text, R"(modelcache_requests_total{route="resolve",code="200"} 2)"));
  EXPECT_TRUE(has_line(text, R"(modelcache_requests_total{route="resolve",code="404"} 1)"));
  EXPECT_EQ(text.find(R"(route="v1_pull",code=)"), std::string::npos);
  EXPECT_TRUE(has_line(text, "# TYPE modelcache_request_duration_seconds histogram"));
  EXPECT_TRUE(has_line(text, R"(modelcache_request_duration_seconds_bucket{route="resolve",le="0.005"} 1)"));
  EXPECT_TRUE(has_line(text, R"(modelcache_request_duration_seconds_bucket{route="resolve",le="0.25"} 2)"));
  EXPECT_TRUE(has_line(text, R"(modelcache_request_duration_seconds_bucket{route="resolve",le="10"} 2)"));
  EXPECT_TRUE(has_line(text, R"(modelcache_request_duration_seconds_bucket{route="resolve",le="+Inf"} 3)"));
  EXPECT_TRUE(has_line(text, R"(modelcache_request_duration_seconds_count{route="resolve"} 3)"));
  EXPECT_TRUE(has_line(text, R"(modelcache_request_duration_seconds_sum{route="resolve"} 30.201)"));
  EXPECT_TRUE(has_line(text, R"(modelcache_request_duration_seconds_count{route="v1_pull"} 1)"));
  m.pull_finished();
  EXPECT_TRUE(has_line("\n" + m.render(), "modelcache_pulls_in_flight 0"));
}
