// Safetensors dtype names <-> Dtype (the public half is in modelcache/safetensors.hpp).
#pragma once

#include <optional>
#include <string_view>

#include "modelcache/safetensors.hpp"

namespace modelcache::runtime {

std::optional<Dtype> parse_dtype(std::string_view name);
// "BOOL, U8, ..." for an error that says what is accepted.
std::string_view known_dtypes();

}  // namespace modelcache::runtime
