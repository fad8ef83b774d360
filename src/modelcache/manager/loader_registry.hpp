// Which loader turns a snapshot directory into a LoadedModel: the first one
// registered that claims it (by its files). The manager asks the registry and
// knows nothing of formats.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "manager/loaded_model.hpp"

namespace modelcache::manager {

class LoaderRegistry {
 public:
  void add(std::unique_ptr<Loader> loader) { loaders_.push_back(std::move(loader)); }
  // The first loader, in the order added, that claims `snapshot_dir`; nullptr if none.
  Loader* find(const std::filesystem::path& snapshot_dir) const;
  // "onnx, safetensors": for the error that no loader claims a snapshot.
  std::string formats() const;

 private:
  std::vector<std::unique_ptr<Loader>> loaders_;
};

// The loaders `modelcache serve` uses, most capable first (a snapshot holding
// both an ONNX graph and safetensors weights is served by the ONNX loader).
// `onnx_plugin`: libmodelcache_onnx.so (MODELCACHE_ONNX_PLUGIN); empty: next to the binary.
LoaderRegistry default_registry(const std::filesystem::path& onnx_plugin);

}  // namespace modelcache::manager
