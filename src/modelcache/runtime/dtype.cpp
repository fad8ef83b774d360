#include "runtime/dtype.hpp"

#include <array>
#include <utility>

namespace modelcache {

namespace {

struct DtypeInfo {
  Dtype dtype;
  std::string_view name;
  std::size_t size;
};

// In the order of the enum, so that a Dtype indexes it.
constexpr std::array<DtypeInfo, 15> kDtypes{{
    {Dtype::kBool, "BOOL", 1},
    {Dtype::kU8, "U8", 1},
    {Dtype::kI8, "I8", 1},
    {Dtype::kF8E5M2, "F8_E5M2", 1},
    {Dtype::kF8E4M3, "F8_E4M3", 1},
    {Dtype::kI16, "I16", 2},
    {Dtype::kU16, "U16", 2},
    {Dtype::kF16, "F16", 2},
    {Dtype::kBF16, "BF16", 2},
    {Dtype::kI32, "I32", 4},
    {Dtype::kU32, "U32", 4},
    {Dtype::kF32, "F32", 4},
    {Dtype::kF64, "F64", 8},
    {Dtype::kI64, "I64", 8},
    {Dtype::kU64, "U64", 8},
}};

const DtypeInfo& info(Dtype dtype) {
  return kDtypes[static_cast<std::size_t>(std::to_underlying(dtype))];
}

}  // namespace

std::string_view dtype_name(Dtype dtype) { return info(dtype).name; }
std::size_t dtype_size(Dtype dtype) { return info(dtype).size; }

namespace runtime {

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const auto& d : kDtypes) {
    if (d.name == name) return d.dtype;
  }
  return std::nullopt;
}

std::string_view known_dtypes() {
  return "BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64";
}

}  // namespace runtime

}  // namespace modelcache
