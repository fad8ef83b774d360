// The model manager's part of GET /metrics: loads (ok/failed) and their seconds,
// evictions, and inference count and latency per model. Unlike Metrics (fixed
// arrays, relaxed atomics) the set of models is open, so this is a map under a
// mutex; a model id is a label value (escaped as the exposition format says).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "manager/model_manager.hpp"
#include "server/metrics.hpp"

namespace modelcache::server {

class ModelMetrics final : public manager::ManagerObserver {
 public:
  void model_loaded(const std::string& id, bool ok, double seconds) override;
  void model_evicted(const std::string& id) override;
  // One POST /v1/infer that reached the model; `ok` false when it answered an error.
  void record_inference(const std::string& id, bool ok, double seconds);

  // Appended to Metrics::render()'s text.
  std::string render() const;

 private:
  struct PerModel {
    std::uint64_t loads_ok = 0;
    std::uint64_t loads_failed = 0;
    double load_seconds = 0;
    std::uint64_t evictions = 0;
    std::uint64_t infer_ok = 0;
    std::uint64_t infer_error = 0;
    std::array<std::uint64_t, Metrics::kBuckets.size()> buckets{};  // not cumulative
    double infer_seconds = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, PerModel> models_;
};

}  // namespace modelcache::server
