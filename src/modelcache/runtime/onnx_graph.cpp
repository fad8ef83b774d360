#include "runtime/onnx_graph.hpp"

#include <algorithm>
#include <optional>
#include <unordered_set>

namespace modelcache::runtime {

namespace {

// One protobuf message's fields, in order. A malformed field ends the walk with
// `bad` set.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  struct Field {
    std::uint32_t number = 0;
    int wire_type = 0;
    std::uint64_t value = 0;  // varint / fixed
    std::string_view bytes;   // length-delimited
  };

  // False at the end or on an error (then bad() is true).
  bool next(Field& f) {
    if (pos_ >= data_.size() || bad_) return false;
    auto key = varint();
    if (!key) return fail();
    f.number = static_cast<std::uint32_t>(*key >> 3);
    f.wire_type = static_cast<int>(*key & 7);
    if (f.number == 0) return fail();
    switch (f.wire_type) {
      case 0: {
        auto v = varint();
        if (!v) return fail();
        f.value = *v;
        return true;
      }
      case 1: return skip(8);
      case 5: return skip(4);
      case 2: {
        auto len = varint();
        if (!len || *len > data_.size() - pos_) return fail();
        f.bytes = data_.substr(pos_, static_cast<std::size_t>(*len));
        pos_ += static_cast<std::size_t>(*len);
        return true;
      }
      default: return fail();  // groups (3, 4) are not used by ONNX
    }
  }
  bool bad() const { return bad_; }

 private:
  std::optional<std::uint64_t> varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
      auto b = static_cast<std::uint8_t>(data_[pos_++]);
      v |= std::uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) return v;
    }
    return std::nullopt;
  }
  bool skip(std::size_t n) {
    if (n > data_.size() - pos_) return fail();
    pos_ += n;
    return true;
  }
  bool fail() {
    bad_ = true;
    return false;
  }
  std::string_view data_;
  std::size_t pos_ = 0;
  bool bad_ = false;
};

bool read_dim(std::string_view bytes, std::int64_t& dim) {
  dim = -1;
  Reader r(bytes);
  Reader::Field f;
  while (r.next(f)) {
    if (f.number == 1 && f.wire_type == 0) dim = static_cast<std::int64_t>(f.value);
  }
  return !r.bad();
}

bool read_tensor_type(std::string_view bytes, OnnxInput& in) {
  Reader r(bytes);
  Reader::Field f;
  while (r.next(f)) {
    if (f.number == 1 && f.wire_type == 0) in.elem_type = static_cast<int>(f.value);
    if (f.number == 2 && f.wire_type == 2) {
      in.dims.clear();
      Reader shape(f.bytes);
      Reader::Field d;
      while (shape.next(d)) {
        if (d.number != 1 || d.wire_type != 2) continue;
        std::int64_t dim = -1;
        if (!read_dim(d.bytes, dim)) return false;
        in.dims.push_back(dim);
      }
      if (shape.bad()) return false;
    }
  }
  return !r.bad();
}

bool read_value_info(std::string_view bytes, OnnxInput& in) {
  Reader r(bytes);
  Reader::Field f;
  while (r.next(f)) {
    if (f.number == 1 && f.wire_type == 2) in.name = std::string(f.bytes);
    if (f.number == 2 && f.wire_type == 2) {
      Reader type(f.bytes);
      Reader::Field t;
      while (type.next(t)) {
        if (t.number == 1 && t.wire_type == 2 && !read_tensor_type(t.bytes, in)) return false;
      }
      if (type.bad()) return false;
    }
  }
  return !r.bad();
}

bool read_initializer_name(std::string_view bytes, std::string& name) {
  Reader r(bytes);
  Reader::Field f;
  while (r.next(f)) {
    if (f.number == 8 && f.wire_type == 2) name = std::string(f.bytes);
  }
  return !r.bad();
}

}  // namespace

Result<std::vector<OnnxInput>> read_onnx_inputs(std::string_view bytes, std::string_view what) {
  auto not_onnx = [&](std::string_view why) {
    return fail(ErrorCode::kIntegrity, std::string(what) + ": not an ONNX model: " + std::string(why));
  };
  Reader model(bytes);
  Reader::Field f;
  std::vector<OnnxInput> inputs;
  std::unordered_set<std::string> initializers;
  bool have_graph = false;
  while (model.next(f)) {
    if (f.number != 7 || f.wire_type != 2) continue;
    have_graph = true;
    Reader graph(f.bytes);
    Reader::Field g;
    while (graph.next(g)) {
      if (g.wire_type != 2) continue;
      if (g.number == 11) {
        OnnxInput in;
        if (!read_value_info(g.bytes, in)) return not_onnx("malformed graph input");
        inputs.push_back(std::move(in));
      } else if (g.number == 5) {
        std::string name;
        if (!read_initializer_name(g.bytes, name)) return not_onnx("malformed initializer");
        initializers.insert(std::move(name));
      }
    }
    if (graph.bad()) return not_onnx("malformed graph");
  }
  if (model.bad()) return not_onnx("malformed protobuf");
  if (!have_graph) return not_onnx("no graph");
  std::erase_if(inputs, [&](const OnnxInput& in) { return initializers.contains(in.name); });
  return inputs;
}

}  // namespace modelcache::runtime
