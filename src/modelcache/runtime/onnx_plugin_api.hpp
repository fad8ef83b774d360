// libmodelcache_onnx.so, the OpenCV plugin (onnx_plugin/onnx_plugin.h), loaded on
// the first ONNX model and kept for the life of the process.
#pragma once

#include <filesystem>

#include "modelcache/error.hpp"
#include "onnx_plugin/onnx_plugin.h"

namespace modelcache::runtime {

struct OnnxPluginApi {
  int (*load)(const void*, size_t, int, int, mc_onnx_net**, char*, size_t) = nullptr;
  void (*free_net)(mc_onnx_net*) = nullptr;
  int (*output_shape)(const mc_onnx_net*, int64_t*) = nullptr;
  uint64_t (*bytes_held)(const mc_onnx_net*) = nullptr;
  int (*infer)(mc_onnx_net*, const void*, size_t, const mc_onnx_params*, mc_onnx_result*, char*,
               size_t) = nullptr;
  void (*result_free)(mc_onnx_result*) = nullptr;
  int (*self_test)(mc_onnx_net*, const mc_onnx_params*, char*, size_t) = nullptr;
};

// Where the plugin is looked for: `override` (MODELCACHE_ONNX_PLUGIN) when not
// empty, else libmodelcache_onnx.so in the directory of /proc/self/exe.
std::filesystem::path onnx_plugin_path(const std::filesystem::path& override);

// The first call dlopens the plugin at `path` (later calls return the same result,
// whatever path they pass). kNotFound, one line, when it is missing or unusable.
Result<const OnnxPluginApi*> onnx_plugin(const std::filesystem::path& path);

}  // namespace modelcache::runtime
