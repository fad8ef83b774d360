#include "manager/safetensors_loader.hpp"

#include "modelcache/safetensors.hpp"
#include "util/fs.hpp"

namespace modelcache::manager {

namespace {

class SafetensorsModel final : public LoadedModel {
 public:
  explicit SafetensorsModel(SafetensorsFile file) : file_(std::move(file)) {}
  std::string_view format() const override { return "safetensors"; }
  std::string_view task() const override { return ""; }
  // The mappings: prefaulted, so every page of them is resident.
  std::uint64_t bytes_held() const override { return file_.mapped_bytes(); }
  Result<nlohmann::json> infer(const InferInput&) override {
    return fail(ErrorCode::kInvalidArgument,
                "safetensors models have no inference task; load them with the library "
                "(modelcache/safetensors.hpp) or serve an ONNX model");
  }

 private:
  SafetensorsFile file_;
};

}  // namespace

bool SafetensorsLoader::claims(const std::filesystem::path& snapshot_dir) const {
  for (const auto& name : util::list_dir(snapshot_dir)) {
    if (name.ends_with(".safetensors") || name.ends_with(".safetensors.index.json")) return true;
  }
  return false;
}

Result<std::unique_ptr<LoadedModel>> SafetensorsLoader::load(
    const std::filesystem::path& snapshot_dir) {
  auto file = SafetensorsFile::open(snapshot_dir, LoadOptions{Prefault::kYes});
  if (!file) return std::unexpected(file.error());
  return std::make_unique<SafetensorsModel>(std::move(*file));
}

}  // namespace modelcache::manager
