// ONNX ModelProto bytes are written field by field here (the protobuf wire
// format), so the reader is checked against exactly what an exporter writes.
#include "runtime/onnx_graph.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using modelcache::ErrorCode;
using modelcache::runtime::read_onnx_inputs;

std::string varint(std::uint64_t v) {
  std::string out;
  do {
    auto b = static_cast<char>(v & 0x7F);
    v >>= 7;
    out += static_cast<char>(b | (v ? 0x80 : 0));
  } while (v);
  return out;
}
std::string len_field(int number, const std::string& body) {
  return varint(static_cast<std::uint64_t>(number) << 3 | 2) + varint(body.size()) + body;
}
std::string int_field(int number, std::uint64_t v) { return varint(static_cast<std::uint64_t>(number) << 3) + varint(v); }

// ValueInfoProto{name, type{tensor_type{elem_type, shape{dim...}}}}; a dim < 0 is symbolic.
std::string value_info(const std::string& name, int elem_type, std::initializer_list<long> dims) {
  std::string shape;
  for (long d : dims) shape += len_field(1, d < 0 ? len_field(2, "batch") : int_field(1, static_cast<std::uint64_t>(d)));
  return len_field(1, name) + len_field(2, len_field(1, int_field(1, elem_type) + len_field(2, shape)));
}

std::string model(const std::string& graph) {
  return int_field(1, 8) + len_field(2, "pytorch") + len_field(7, graph) + len_field(8, int_field(2, 13));
}

TEST(OnnxGraph, ReadsTheInputShape) {
  std::string raw(4096, '\x01');  // a weight's raw_data, skipped by length
  std::string g = len_field(1, "node") + len_field(5, len_field(8, "w") + len_field(9, raw)) +
                  len_field(11, value_info("images", 1, {1, 3, 640, 480})) +
                  len_field(12, value_info("out", 1, {1, 84, 8400}));
  auto in = read_onnx_inputs(model(g), "m.onnx");
  ASSERT_TRUE(in) << in.error().message;
  ASSERT_EQ(in->size(), 1u);
  EXPECT_EQ((*in)[0].name, "images");
  EXPECT_EQ((*in)[0].elem_type, 1);
  EXPECT_EQ((*in)[0].dims, (std::vector<std::int64_t>{1, 3, 640, 480}));
}

TEST(OnnxGraph, LeavesOutInitializersListedAsInputsAndMarksSymbolicDims) {
  std::string g = len_field(11, value_info("images", 1, {-1, 3, 32, 32})) +
                  len_field(11, value_info("w", 1, {3, 3})) + len_field(5, len_field(8, "w"));
  auto in = read_onnx_inputs(model(g), "m.onnx");
  ASSERT_TRUE(in) << in.error().message;
  ASSERT_EQ(in->size(), 1u);
  EXPECT_EQ((*in)[0].dims, (std::vector<std::int64_t>{-1, 3, 32, 32}));
}

TEST(OnnxGraph, RefusesWhatIsNotAModel) {
  std::string good = model(len_field(11, value_info("images", 1, {1, 3, 8, 8})));
  auto truncated = read_onnx_inputs(good.substr(0, good.size() - 8), "m.onnx");
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, ErrorCode::kIntegrity);
  EXPECT_EQ(truncated.error().message, "m.onnx: not an ONNX model: malformed protobuf");

  auto no_graph = read_onnx_inputs(int_field(1, 8), "m.onnx");
  ASSERT_FALSE(no_graph);
  EXPECT_EQ(no_graph.error().message, "m.onnx: not an ONNX model: no graph");

  auto text = read_onnx_inputs("\x89PNG\r\n\x1a\n not a model", "m.onnx");
  EXPECT_FALSE(text);
  EXPECT_FALSE(read_onnx_inputs("", "m.onnx"));
  // A group wire type (3) is never used by ONNX.
  EXPECT_FALSE(read_onnx_inputs(varint(7 << 3 | 3), "m.onnx"));
  // A length past the end.
  EXPECT_FALSE(read_onnx_inputs(varint(7 << 3 | 2) + varint(1000) + "abc", "m.onnx"));
}

}  // namespace
