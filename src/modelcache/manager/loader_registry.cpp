#include "manager/loader_registry.hpp"

#include "manager/safetensors_loader.hpp"
#include "runtime/onnx_loader.hpp"

namespace modelcache::manager {

Loader* LoaderRegistry::find(const std::filesystem::path& snapshot_dir) const {
  for (const auto& l : loaders_) {
    if (l->claims(snapshot_dir)) return l.get();
  }
  return nullptr;
}

std::string LoaderRegistry::formats() const {
  std::string out;
  for (const auto& l : loaders_) out += (out.empty() ? "" : ", ") + std::string(l->format());
  return out;
}

LoaderRegistry default_registry(const std::filesystem::path& onnx_plugin) {
  LoaderRegistry registry;
  // ONNX first: a snapshot with an .onnx model may also carry safetensors weights.
  registry.add(std::make_unique<runtime::OnnxLoader>(runtime::OnnxLoaderOptions{.plugin_path = onnx_plugin}));
  registry.add(std::make_unique<SafetensorsLoader>());
  return registry;
}

}  // namespace modelcache::manager
