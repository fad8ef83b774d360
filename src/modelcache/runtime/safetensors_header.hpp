// The safetensors header, validated before anything is mapped
// (https://github.com/huggingface/safetensors, "Format"): 8 bytes little-endian
// N, then N bytes of UTF-8 JSON, then the data section that the tensors' offsets
// (relative to its start) cover exactly, with no overlap and no hole.
// Every error is one line: "<label>: [tensor '<name>': ]<what is wrong>", kIntegrity.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"
#include "modelcache/safetensors.hpp"

namespace modelcache::runtime {

// The reference implementation's limit: a larger header is corrupt or hostile.
inline constexpr std::uint64_t kMaxHeaderBytes = 100ULL << 20;

struct TensorEntry {
  std::string name;
  Dtype dtype = Dtype::kU8;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0;  // data_offsets, relative to the data section
  std::uint64_t end = 0;
};

struct Header {
  std::vector<TensorEntry> tensors;  // sorted by name
  std::map<std::string, std::string, std::less<>> metadata;
};

// N from the file's first 8 bytes, checked against the limit and the file size.
Result<std::uint64_t> header_length(std::span<const std::byte> prefix, std::uint64_t file_size,
                                    std::string_view label);

// The N header bytes; `data_size` = file size - 8 - N.
Result<Header> parse_header(std::string_view text, std::uint64_t data_size, std::string_view label);

}  // namespace modelcache::runtime
