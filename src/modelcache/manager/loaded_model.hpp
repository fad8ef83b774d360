// The contract between the model manager (manager/) and the loaders that turn a
// cached snapshot into something that answers inference requests. Loaders live
// in runtime/ (safetensors: a tensor table; onnx: OpenCV DNN through the
// dlopened plugin, runtime/onnx_*). The manager knows nothing of formats: it
// asks the registry which loader claims a snapshot, loads it once, accounts
// `bytes_held()` against the memory budget and unloads by destroying the model
// (eviction never touches files on disk).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "modelcache/error.hpp"

namespace modelcache::manager {

// One inference request, already parsed from HTTP (base64 JSON or multipart).
struct InferInput {
  std::string image;                 // the encoded image file's bytes (PNG, JPEG, ...)
  std::optional<double> confidence;  // detection: keep boxes at or above; default per model
  std::optional<double> iou;         // detection: NMS IoU threshold
  std::optional<int> top_k;          // classification: how many classes in `predictions`
};

class LoadedModel {
 public:
  virtual ~LoadedModel() = default;
  virtual std::string_view format() const = 0;  // "onnx", "safetensors"
  virtual std::string_view task() const = 0;    // "classification", "object-detection", "" (no inference)
  // Memory this model really holds (weights and buffers it allocated, mapped
  // bytes for mmap-backed tables); what the manager's byte budget counts.
  virtual std::uint64_t bytes_held() const = 0;
  // Predictions in Roboflow's shape (doc/INFERENCE.md). Safe to call from many
  // threads at once (a loader serialises internally where its engine must).
  // kInvalidArgument for a bad image (the daemon answers 4xx).
  virtual Result<nlohmann::json> infer(const InferInput& input) = 0;
};

class Loader {
 public:
  virtual ~Loader() = default;
  virtual std::string_view format() const = 0;
  // Whether this loader recognises the snapshot (by its files); cheap, no load.
  virtual bool claims(const std::filesystem::path& snapshot_dir) const = 0;
  // Loads and validates (ONNX: a test inference); an error here is the model's
  // FAILED reason, one line.
  virtual Result<std::unique_ptr<LoadedModel>> load(const std::filesystem::path& snapshot_dir) = 0;
};

}  // namespace modelcache::manager
