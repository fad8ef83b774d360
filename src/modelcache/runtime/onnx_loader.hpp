// The ONNX loader: a snapshot with an .onnx model (+ class_names.txt, optional
// modelcache-model.json) becomes a LoadedModel that classifies or detects through
// OpenCV's DNN module, in the dlopened plugin (runtime/onnx_plugin_api.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "manager/loaded_model.hpp"

namespace modelcache::runtime {

struct OnnxLoaderOptions {
  // libmodelcache_onnx.so; empty: next to the running binary (MODELCACHE_ONNX_PLUGIN).
  std::filesystem::path plugin_path;
  // Images whose header says more pixels are refused before decoding.
  std::uint64_t max_image_pixels = 50'000'000;
};

// Defaults where a request says nothing (Roboflow's: confidence 0.4, IoU 0.3).
inline constexpr double kDefaultConfidence = 0.4;
inline constexpr double kDefaultIou = 0.3;
inline constexpr int kDefaultTopK = 5;

class OnnxLoader final : public manager::Loader {
 public:
  explicit OnnxLoader(OnnxLoaderOptions options = {}) : options_(std::move(options)) {}
  std::string_view format() const override { return "onnx"; }
  // A top-level *.onnx file, or a modelcache-model.json.
  bool claims(const std::filesystem::path& snapshot_dir) const override;
  // The model file: modelcache-model.json's "file", else the only top-level
  // *.onnx (several: an error asking for "file"). The task: the json's "task",
  // else the output shape ([1, C] classification, [1, 4+C, N] detection).
  // Errors (one line, the FAILED reason): bad json, no or several models, not
  // ONNX, input not [1, 3, H, W] float with fixed H and W, the plugin missing,
  // OpenCV refusing the graph, class_names.txt missing or not C names, the test
  // inference failing.
  Result<std::unique_ptr<manager::LoadedModel>> load(const std::filesystem::path& snapshot_dir) override;

 private:
  OnnxLoaderOptions options_;
};

}  // namespace modelcache::runtime
