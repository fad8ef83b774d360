#include "runtime/safetensors_header.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "runtime/dtype.hpp"
#include "runtime/strict_json.hpp"
#include "util/strings.hpp"

namespace modelcache::runtime {

namespace {

using nlohmann::json;

constexpr std::string_view kMetadataKey = "__metadata__";

Error bad(std::string_view label, std::string_view what) {
  return Error{ErrorCode::kIntegrity, fmt::format("{}: {}", label, what)};
}

Error bad_tensor(std::string_view label, std::string_view name, std::string_view what) {
  return Error{ErrorCode::kIntegrity,
               fmt::format("{}: tensor '{}': {}", label, util::printable(name), what)};
}

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

Status read_metadata(const json& value, std::string_view label, Header& header) {
  if (!value.is_object())
    return std::unexpected(bad(label, "__metadata__ must be an object of strings"));
  for (const auto& [k, v] : value.items()) {
    if (!v.is_string()) {
      return std::unexpected(bad(
          label, fmt::format("__metadata__ value of '{}' must be a string", util::printable(k))));
    }
    header.metadata.emplace(k, v.get<std::string>());
  }
  return {};
}

// A JSON array of non-negative integers (nlohmann parses those as unsigned).
bool read_uints(const json& value, std::vector<std::uint64_t>& out) {
  if (!value.is_array()) return false;
  for (const auto& v : value) {
    if (!v.is_number_unsigned()) return false;
    out.push_back(v.get<std::uint64_t>());
  }
  return true;
}

Result<TensorEntry> read_tensor(const std::string& name, const json& value, std::uint64_t data_size,
                                std::string_view label) {
  if (!value.is_object()) {
    return std::unexpected(
        bad_tensor(label, name, "must be an object {dtype, shape, data_offsets}"));
  }
  for (const auto& [k, v] : value.items()) {
    if (k != "dtype" && k != "shape" && k != "data_offsets") {
      return std::unexpected(
          bad_tensor(label, name, fmt::format("unknown field '{}'", util::printable(k))));
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key))
      return std::unexpected(bad_tensor(label, name, fmt::format("missing '{}'", key)));
  }
  TensorEntry t;
  t.name = name;
  const auto& dtype = value["dtype"];
  auto parsed = dtype.is_string() ? parse_dtype(dtype.get<std::string>()) : std::nullopt;
  if (!parsed) {
    return std::unexpected(bad_tensor(
        label, name,
        fmt::format("dtype {} is not one of {}",
                    util::printable(dtype.dump(-1, ' ', false, json::error_handler_t::replace)),
                    known_dtypes())));
  }
  t.dtype = *parsed;
  if (!read_uints(value["shape"], t.shape)) {
    return std::unexpected(
        bad_tensor(label, name, "shape must be a list of non-negative integers"));
  }
  std::uint64_t bytes = dtype_size(t.dtype);
  for (auto dim : t.shape) {
    if (__builtin_mul_overflow(bytes, dim, &bytes)) {
      return std::unexpected(bad_tensor(label, name,
                                        fmt::format("shape {} of {} overflows 64 bits of bytes",
                                                    shape_text(t.shape), dtype_name(t.dtype))));
    }
  }
  std::vector<std::uint64_t> offsets;
  if (!read_uints(value["data_offsets"], offsets) || offsets.size() != 2) {
    return std::unexpected(
        bad_tensor(label, name, "data_offsets must be [begin, end], non-negative integers"));
  }
  t.begin = offsets[0];
  t.end = offsets[1];
  if (t.begin > t.end) {
    return std::unexpected(bad_tensor(
        label, name, fmt::format("data_offsets [{}, {}] end before they begin", t.begin, t.end)));
  }
  if (t.end > data_size) {
    return std::unexpected(bad_tensor(label, name,
                                      fmt::format("data_offsets [{}, {}] run past the data section "
                                                  "({} bytes): the file is truncated or corrupt",
                                                  t.begin, t.end, data_size)));
  }
  if (t.end - t.begin != bytes) {
    return std::unexpected(bad_tensor(
        label, name,
        fmt::format("data_offsets [{}, {}] hold {} bytes but {} {} needs {}", t.begin, t.end,
                    t.end - t.begin, dtype_name(t.dtype), shape_text(t.shape), bytes)));
  }
  return t;
}

// The format requires the tensors to tile the data section exactly: in offset
// order each begins where the previous ended, the first at 0, the last at the end.
Status check_coverage(const std::vector<TensorEntry>& tensors, std::uint64_t data_size,
                      std::string_view label) {
  std::vector<const TensorEntry*> order;
  for (const auto& t : tensors) order.push_back(&t);
  std::ranges::sort(order, [](const TensorEntry* a, const TensorEntry* b) {
    return std::tie(a->begin, a->end) < std::tie(b->begin, b->end);
  });
  std::uint64_t covered = 0;
  const TensorEntry* previous = nullptr;
  for (const auto* t : order) {
    if (t->begin < covered) {
      return std::unexpected(bad_tensor(
          label, t->name,
          fmt::format("data_offsets [{}, {}] overlap tensor '{}' [{}, {}]", t->begin, t->end,
                      util::printable(previous->name), previous->begin, previous->end)));
    }
    if (t->begin > covered) {
      return std::unexpected(bad_tensor(label, t->name,
                                        fmt::format("data_offsets [{}, {}] leave bytes [{}, {}) of "
                                                    "the data section to no tensor (the format "
                                                    "allows no holes)",
                                                    t->begin, t->end, covered, t->begin)));
    }
    covered = t->end;
    previous = t;
  }
  if (covered != data_size) {
    return std::unexpected(
        bad(label, fmt::format("bytes [{}, {}) at the end of the data section belong to no "
                               "tensor (the format allows no holes)",
                               covered, data_size)));
  }
  return {};
}

}  // namespace

Result<std::uint64_t> header_length(std::span<const std::byte> prefix, std::uint64_t file_size,
                                    std::string_view label) {
  if (file_size < 8 || prefix.size() < 8) {
    return std::unexpected(
        bad(label, fmt::format("{} bytes is shorter than the 8-byte header length of a "
                               "safetensors file",
                               file_size)));
  }
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | std::to_integer<std::uint64_t>(prefix[i]);
  if (n > kMaxHeaderBytes) {
    return std::unexpected(
        bad(label, fmt::format("header length {} is over the {} byte limit: the file is "
                               "corrupt or not safetensors",
                               n, kMaxHeaderBytes)));
  }
  if (n > file_size - 8) {
    return std::unexpected(
        bad(label, fmt::format("header length {} runs past the end of the file ({} bytes): "
                               "the file is truncated or not safetensors",
                               n, file_size)));
  }
  return n;
}

Result<Header> parse_header(std::string_view text, std::uint64_t data_size,
                            std::string_view label) {
  if (text.empty() || text.front() != '{') {
    return std::unexpected(bad(label, "header must be a JSON object starting with '{'"));
  }
  auto doc = parse_strict_json(text, fmt::format("{}: header", label));
  if (!doc) return std::unexpected(doc.error());
  if (!doc->is_object()) return std::unexpected(bad(label, "header must be a JSON object"));
  Header header;
  for (const auto& [name, value] : doc->items()) {
    if (name == kMetadataKey) {
      if (auto ok = read_metadata(value, label, header); !ok) return std::unexpected(ok.error());
      continue;
    }
    auto tensor = read_tensor(name, value, data_size, label);
    if (!tensor) return std::unexpected(tensor.error());
    header.tensors.push_back(std::move(*tensor));
  }
  if (auto ok = check_coverage(header.tensors, data_size, label); !ok)
    return std::unexpected(ok.error());
  return header;
}

}  // namespace modelcache::runtime
