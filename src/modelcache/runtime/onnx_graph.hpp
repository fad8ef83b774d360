// The inputs of an ONNX model, read from its protobuf without a protobuf library.
//
// Why here and not OpenCV: OpenCV 4.6's Net has no API for the shapes its ONNX
// importer read (getLayerShapes needs the input shape as an argument), and the
// input size is what the letterbox needs. The ModelProto wire format is small and
// stable: ModelProto.graph (7) -> GraphProto.input (11) -> ValueInfoProto
// {name (1), type (2) -> TypeProto.tensor_type (1) -> {elem_type (1), shape (2)
// -> TensorShapeProto.dim (1) -> {dim_value (1) | dim_param (2)}}}. Initializers
// (GraphProto.initializer (5), TensorProto.name (8)) that older exporters also
// list as inputs are left out. Big fields (raw weights) are skipped by length.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/error.hpp"

namespace modelcache::runtime {

struct OnnxInput {
  std::string name;
  int elem_type = 0;                // TensorProto.DataType: 1 = float
  std::vector<std::int64_t> dims;   // -1 where the dim is symbolic or unset
};

// kIntegrity when the bytes are not an ONNX ModelProto with a graph ("not an
// ONNX model: ..."); `what` starts the message.
Result<std::vector<OnnxInput>> read_onnx_inputs(std::string_view bytes, std::string_view what);

}  // namespace modelcache::runtime
