// Safetensors checkpoints as a tensor table an inference engine can use directly:
// every header is validated strictly (doc/ARCHITECTURE.md, "Runtime"), the files
// are memory-mapped read-only and each tensor is a view into its mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"

namespace modelcache {

// The element types of the safetensors format.
enum class Dtype {
  kBool,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kI64,
  kU64
};

std::string_view dtype_name(Dtype dtype);  // as the header spells it: "F32", "BF16", ...
std::size_t dtype_size(Dtype dtype);       // bytes per element

enum class Prefault {
  kNo,   // pages are read on first access (page faults during the first request)
  // Every page is mapped before open() returns (MAP_POPULATE; a file not in the
  // page cache is read from disk first). bench/safetensors_load.md says why.
  kYes,
};

struct LoadOptions {
  Prefault prefault = Prefault::kNo;
};

struct Tensor {
  std::string name;
  Dtype dtype = Dtype::kU8;
  std::vector<std::uint64_t> shape;  // empty for a scalar
  // Read-only view into the mapping, valid while the SafetensorsFile (or a copy)
  // lives. Aligned only as well as the writer padded the header (most align to 8).
  const std::byte* data = nullptr;
  std::uint64_t bytes = 0;  // element count x dtype_size
  std::size_t file = 0;     // index into SafetensorsFile::files()
};

// One checkpoint as one table: a `.safetensors` file, the shards named by a
// `*.safetensors.index.json`, or a directory holding either (an index wins; a
// directory with several `.safetensors` files and no index is refused).
// Copies share the mappings; they are unmapped when the last copy goes. Nothing
// changes after open(), so any number of threads may read one at once. The
// files must not be modified while mapped (cache blobs are read-only).
class SafetensorsFile {
 public:
  static Result<SafetensorsFile> open(const std::filesystem::path& path,
                                      const LoadOptions& options = {});

  std::span<const Tensor> tensors() const { return tensors_; }  // sorted by name
  const Tensor* find(std::string_view name) const;
  // The `__metadata__` of the file; for shards, the union (the first shard in
  // name order wins on a conflict).
  const std::map<std::string, std::string, std::less<>>& metadata() const { return metadata_; }
  std::span<const std::filesystem::path> files() const { return files_; }
  std::uint64_t tensor_bytes() const;                           // sum of Tensor::bytes
  std::uint64_t mapped_bytes() const { return mapped_bytes_; }  // sum of the file sizes

 private:
  std::vector<Tensor> tensors_;
  std::map<std::string, std::string, std::less<>> metadata_;
  std::vector<std::filesystem::path> files_;
  std::uint64_t mapped_bytes_ = 0;
  std::vector<std::shared_ptr<const void>> mappings_;
};

}  // namespace modelcache
