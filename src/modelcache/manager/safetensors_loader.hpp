// Safetensors snapshots as loaded models: the tensor table (SafetensorsFile),
// prefaulted so that the first use does not page-fault. There is no inference
// task: the table is for engines that link the library; infer() says so.
#pragma once

#include "manager/loaded_model.hpp"

namespace modelcache::manager {

class SafetensorsLoader final : public Loader {
 public:
  std::string_view format() const override { return "safetensors"; }
  // A `*.safetensors.index.json` or a `*.safetensors` file at the top of the snapshot.
  bool claims(const std::filesystem::path& snapshot_dir) const override;
  Result<std::unique_ptr<LoadedModel>> load(const std::filesystem::path& snapshot_dir) override;
};

}  // namespace modelcache::manager
