// A whole file mapped read-only (PROT_READ, MAP_SHARED): tensors are views into it.
// The mapping is unmapped when the last shared_ptr to it goes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "modelcache/error.hpp"

namespace modelcache::runtime {

// How the pages get mapped before the first access. bench/safetensors_load.cpp
// measures each; Prefault::kYes uses kPopulate, the fastest (bench/safetensors_load.md).
enum class PrefaultMethod {
  kNone,      // page faults on first access
  kPopulate,  // MAP_POPULATE: the kernel maps every page inside mmap()
  kTouch,     // madvise(MADV_WILLNEED), then worker threads read one byte per page
};

class MappedFile {
 public:
  // `fd` is open for reading and `size` is its size (> 0).
  static Result<std::shared_ptr<const MappedFile>> map(int fd, std::uint64_t size,
                                                       const std::filesystem::path& path,
                                                       PrefaultMethod prefault);
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const std::byte* data() const { return data_; }
  std::uint64_t size() const { return size_; }

 private:
  MappedFile(const std::byte* data, std::uint64_t size) : data_(data), size_(size) {}
  const std::byte* data_;
  std::uint64_t size_;
};

}  // namespace modelcache::runtime
