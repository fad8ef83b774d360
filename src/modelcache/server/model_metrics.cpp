#include "server/model_metrics.hpp"

#include <fmt/format.h>

namespace modelcache::server {

namespace {

// A label value: backslash, double quote and newline escaped.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void ModelMetrics::model_loaded(const std::string& id, bool ok, double seconds) {
  std::lock_guard lock(mutex_);
  PerModel& m = models_[id];
  (ok ? m.loads_ok : m.loads_failed)++;
  m.load_seconds += seconds;
}

void ModelMetrics::model_evicted(const std::string& id) {
  std::lock_guard lock(mutex_);
  ++models_[id].evictions;
}

void ModelMetrics::record_inference(const std::string& id, bool ok, double seconds) {
  std::lock_guard lock(mutex_);
  PerModel& m = models_[id];
  if (!ok) {
    ++m.infer_error;
    return;
  }
  ++m.infer_ok;
  m.infer_seconds += seconds;
  if (auto i = duration_bucket(seconds); i < Metrics::kBuckets.size()) ++m.buckets[i];
}

std::string ModelMetrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  std::uint64_t ok = 0, failed = 0, evictions = 0;
  double seconds = 0;
  for (const auto& [id, m] : models_) {
    ok += m.loads_ok;
    failed += m.loads_failed;
    evictions += m.evictions;
    seconds += m.load_seconds;
  }
  prometheus_header(out, "modelcache_model_loads_total", "counter", "Model loads by the manager, by result.");
  out += fmt::format("modelcache_model_loads_total{{result=\"ok\"}} {}\n", ok);
  out += fmt::format("modelcache_model_loads_total{{result=\"failed\"}} {}\n", failed);
  prometheus_header(out, "modelcache_model_load_seconds_total", "counter",
         "Seconds spent loading models (resolve, fetch, load).");
  out += fmt::format("modelcache_model_load_seconds_total {}\n", seconds);
  prometheus_header(out, "modelcache_model_evictions_total", "counter",
         "Models unloaded to make room (LRU), not by request.");
  out += fmt::format("modelcache_model_evictions_total {}\n", evictions);
  prometheus_header(out, "modelcache_model_loads_by_model_total", "counter", "Model loads, by model and result.");
  for (const auto& [id, m] : models_) {
    if (m.loads_ok) {
      out += fmt::format("modelcache_model_loads_by_model_total{{model=\"{}\",result=\"ok\"}} {}\n",
                         label(id), m.loads_ok);
    }
    if (m.loads_failed) {
      out += fmt::format(
          "modelcache_model_loads_by_model_total{{model=\"{}\",result=\"failed\"}} {}\n", label(id),
          m.loads_failed);
    }
  }
  prometheus_header(out, "modelcache_model_evictions_by_model_total", "counter", "LRU evictions, by model.");
  for (const auto& [id, m] : models_) {
    if (m.evictions) {
      out += fmt::format("modelcache_model_evictions_by_model_total{{model=\"{}\"}} {}\n",
                         label(id), m.evictions);
    }
  }
  prometheus_header(out, "modelcache_inferences_total", "counter",
         "POST /v1/infer requests that reached a model, by result.");
  for (const auto& [id, m] : models_) {
    if (m.infer_ok) {
      out += fmt::format("modelcache_inferences_total{{model=\"{}\",result=\"ok\"}} {}\n",
                         label(id), m.infer_ok);
    }
    if (m.infer_error) {
      out += fmt::format("modelcache_inferences_total{{model=\"{}\",result=\"error\"}} {}\n",
                         label(id), m.infer_error);
    }
  }
  prometheus_header(out, "modelcache_inference_duration_seconds", "histogram",
         "Time of successful inferences, by model.");
  for (const auto& [id, m] : models_) {
    if (!m.infer_ok) continue;
    prometheus_histogram(out, "modelcache_inference_duration_seconds", fmt::format("model=\"{}\"", label(id)),
                         m.buckets, m.infer_ok, m.infer_seconds);
  }
  return out;
}

}  // namespace modelcache::server
