// Safetensors files are written byte by byte here (8-byte LE length, JSON
// header, data), so every validation rule is exercised on a real file.
#include "modelcache/safetensors.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "temp_dir.hpp"

namespace {

using modelcache::Dtype;
using modelcache::ErrorCode;
using modelcache::LoadOptions;
using modelcache::Prefault;
using modelcache::SafetensorsFile;
namespace fs = std::filesystem;

std::string le64(std::uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

template <class T>
std::string raw(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

template <class T>
T value_at(const modelcache::Tensor& t, std::size_t i) {
  T v;
  std::memcpy(&v, t.data + i * sizeof(T), sizeof(T));
  return v;
}

// a: F32 [2,3] = 0..5; b: I64 [2] = {-7, 1<<40}; c: U8 scalar = 200; e: F16 [0, 4].
std::string good_file() {
  std::string header = R"({"__metadata__":{"format":"pt"},)"
                       R"("b":{"dtype":"I64","shape":[2],"data_offsets":[24,40]},)"
                       R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                       R"("e":{"dtype":"F16","shape":[0,4],"data_offsets":[41,41]},)"
                       R"("c":{"dtype":"U8","shape":[],"data_offsets":[40,41]}})";
  header.append(8 - (8 + header.size()) % 8, ' ');  // writers pad the header to 8 bytes
  return safetensors_bytes(header, raw(std::vector<float>{0, 1, 2, 3, 4, 5}) +
                                       raw(std::vector<std::int64_t>{-7, std::int64_t{1} << 40}) +
                                       "\xc8");
}

// Whether the error's message holds `text`; the message is printed when not.
::testing::AssertionResult says(const modelcache::Error& e, std::string_view text) {
  if (e.message.find(text) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no \"" << text << "\" in: " << e.message;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  // Writes `content` as NAME in the temp dir and returns the error of opening it.
  modelcache::Error open_error(const std::string& content,
                               const std::string& name = "bad.safetensors") {
    write_file(dir_ / name, content);
    auto file = SafetensorsFile::open(dir_ / name);
    EXPECT_FALSE(file.has_value()) << "opened a bad file: " << name;
    if (file) return {};
    EXPECT_EQ(file.error().message.find('\n'), std::string::npos) << file.error().message;
    return file.error();
  }
  // The error for a header text over the given data bytes.
  modelcache::Error header_error(const std::string& header, const std::string& data) {
    return open_error(safetensors_bytes(header, data));
  }
  mctest::TempDir dir_;
};

TEST_F(SafetensorsTest, ValidFileIsATableOfViews) {
  write_file(dir_ / "model.safetensors", good_file());
  for (auto prefault : {Prefault::kNo, Prefault::kYes}) {
    auto file = SafetensorsFile::open(dir_ / "model.safetensors", LoadOptions{prefault});
    ASSERT_TRUE(file) << file.error().message;
    auto tensors = file->tensors();
    ASSERT_EQ(tensors.size(), 4u);
    EXPECT_EQ(tensors[0].name, "a");
    EXPECT_EQ(tensors[1].name, "b");
    EXPECT_EQ(tensors[2].name, "c");
    EXPECT_EQ(tensors[3].name, "e");
    const auto* a = file->find("a");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->dtype, Dtype::kF32);
    EXPECT_EQ(a->shape, (std::vector<std::uint64_t>{2, 3}));
    EXPECT_EQ(a->bytes, 24u);
    for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(value_at<float>(*a, i), static_cast<float>(i));
    const auto* b = file->find("b");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(value_at<std::int64_t>(*b, 0), -7);
    EXPECT_EQ(value_at<std::int64_t>(*b, 1), std::int64_t{1} << 40);
    const auto* c = file->find("c");
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->shape.empty());
    EXPECT_EQ(value_at<std::uint8_t>(*c, 0), 200);
    EXPECT_EQ(file->find("e")->bytes, 0u);
    EXPECT_EQ(file->find("missing"), nullptr);
    EXPECT_EQ(file->metadata().at("format"), "pt");
    ASSERT_EQ(file->files().size(), 1u);
    EXPECT_EQ(file->tensor_bytes(), 41u);
    EXPECT_EQ(file->mapped_bytes(), fs::file_size(dir_ / "model.safetensors"));
    EXPECT_EQ(modelcache::dtype_name(b->dtype), "I64");
    EXPECT_EQ(modelcache::dtype_size(b->dtype), 8u);
  }
}

TEST_F(SafetensorsTest, MappingLivesAsLongAsACopy) {
  write_file(dir_ / "model.safetensors", good_file());
  std::vector<modelcache::Tensor> table;
  std::optional<SafetensorsFile> copy;
  {
    auto file = SafetensorsFile::open(dir_ / "model.safetensors");
    ASSERT_TRUE(file) << file.error().message;
    copy = *file;
  }
  // The original is gone; the copy still holds the mapping its views point into.
  EXPECT_EQ(value_at<float>(*copy->find("a"), 5), 5.0f);
}

long minor_faults() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

// Reads one byte per page of every tensor and returns the minor faults it took.
// Not instrumented: under ASan each read would also fault in its shadow page.
__attribute__((no_sanitize("address"))) long faults_to_read(const SafetensorsFile& file) {
  long before = minor_faults();
  volatile std::byte sink{};
  for (const auto& t : file.tensors()) {
    for (std::uint64_t i = 0; i < t.bytes; i += 4096) sink = t.data[i];
  }
  (void)sink;
  return minor_faults() - before;
}

TEST_F(SafetensorsTest, PrefaultMapsEveryPageBeforeTheFirstRead) {
  constexpr std::uint64_t kBytes = 8 << 20;
  std::string header = R"({"w":{"dtype":"U8","shape":[)" + std::to_string(kBytes) +
                       R"(],"data_offsets":[0,)" + std::to_string(kBytes) + "]}}";
  write_file(dir_ / "big.safetensors", safetensors_bytes(header, std::string(kBytes, '\x5a')));
  auto lazy = SafetensorsFile::open(dir_ / "big.safetensors", LoadOptions{Prefault::kNo});
  ASSERT_TRUE(lazy) << lazy.error().message;
  long lazy_faults = faults_to_read(*lazy);
  auto eager = SafetensorsFile::open(dir_ / "big.safetensors", LoadOptions{Prefault::kYes});
  ASSERT_TRUE(eager) << eager.error().message;
  long eager_faults = faults_to_read(*eager);
  // 2048 pages: without prefault the kernel maps them a fault-around batch (or a
  // large folio) at a time, so a few faults at least; with it, none is left.
  EXPECT_GT(lazy_faults, eager_faults);
  EXPECT_LE(eager_faults, 2);
}

TEST_F(SafetensorsTest, ShortFile) {
  auto e = open_error("\x10\0\0", "short.safetensors");
  EXPECT_EQ(e.code, ErrorCode::kIntegrity);
  EXPECT_TRUE(says(e, "short.safetensors"));
  EXPECT_TRUE(says(e, "shorter than the 8-byte header length"));
}

TEST_F(SafetensorsTest, HeaderLengthPastEndOfFile) {
  auto e = open_error(le64(100) + R"({"a":1})");
  EXPECT_EQ(e.code, ErrorCode::kIntegrity);
  EXPECT_TRUE(says(e, "header length 100 runs past the end of the file (15 bytes)"));
}

TEST_F(SafetensorsTest, HugeHeaderLength) {
  auto e = open_error(le64(std::uint64_t{1} << 62) + "{}");
  EXPECT_TRUE(says(e, "over the 104857600 byte limit"));
}

TEST_F(SafetensorsTest, HeaderNotJson) {
  EXPECT_TRUE(says(header_error("{\"a\": nope}", ""), "header: not valid JSON"));
  EXPECT_TRUE(says(header_error("[1, 2]", ""), "must be a JSON object"));
  EXPECT_TRUE(says(header_error("", ""), "must be a JSON object"));
  // Ill-formed UTF-8 in a key.
  EXPECT_TRUE(says(header_error("{\"\xff\xfe\":{}}", ""), "not valid JSON"));
}

TEST_F(SafetensorsTest, DuplicateTensorName) {
  auto e = header_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                        R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                        "xy");
  EXPECT_TRUE(says(e, "duplicate key 'a'"));
}

TEST_F(SafetensorsTest, BadDtype) {
  auto e = header_error(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", "1234");
  EXPECT_TRUE(says(e, "tensor 'w': dtype \"F33\" is not one of BOOL"));
}

TEST_F(SafetensorsTest, BadShape) {
  auto e = header_error(R"({"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})", "");
  EXPECT_TRUE(says(e, "tensor 'w': shape must be a list of non-negative integers"));
  e = header_error(R"({"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,0]}})", "");
  EXPECT_TRUE(says(e, "shape must be"));
}

TEST_F(SafetensorsTest, ShapeProductOverflow) {
  auto e = header_error(
      R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", "");
  EXPECT_TRUE(says(e, "tensor 'w': shape [4294967296, 4294967296] of F32 overflows 64 bits"));
}

TEST_F(SafetensorsTest, SizeMismatch) {
  auto e = header_error(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})",
                        std::string(20, 'x'));
  EXPECT_TRUE(says(e, "tensor 'w': data_offsets [0, 20] hold 20 bytes but F32 [2, 3] needs 24"));
}

TEST_F(SafetensorsTest, OffsetsOutOfBounds) {
  auto e = header_error(R"({"w":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})",
                        std::string(8, 'x'));
  EXPECT_EQ(e.code, ErrorCode::kIntegrity);
  EXPECT_TRUE(says(
      e, "bad.safetensors: tensor 'w': data_offsets [4, 12] run past the data section (8 bytes)"));
  e = header_error(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}})", std::string(8, 'x'));
  EXPECT_TRUE(says(e, "end before they begin"));
  e = header_error(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0]}})", "xx");
  EXPECT_TRUE(says(e, "data_offsets must be [begin, end]"));
}

TEST_F(SafetensorsTest, Overlap) {
  auto e = header_error(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                        std::string(6, 'x'));
  EXPECT_TRUE(says(e, "tensor 'b': data_offsets [2, 6] overlap tensor 'a' [0, 4]"));
}

TEST_F(SafetensorsTest, Holes) {
  auto e = header_error(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                        R"("b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
                        std::string(6, 'x'));
  EXPECT_TRUE(says(
      e, "tensor 'b': data_offsets [4, 6] leave bytes [2, 4) of the data section to no tensor"));
  e = header_error(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", std::string(5, 'x'));
  EXPECT_TRUE(says(e, "bytes [2, 5) at the end of the data section belong to no tensor"));
  e = header_error(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})", std::string(3, 'x'));
  EXPECT_TRUE(says(e, "leave bytes [0, 1)"));
}

TEST_F(SafetensorsTest, FieldsAndMetadata) {
  auto e = header_error(R"({"w":{"dtype":"U8","shape":[1]}})", "x");
  EXPECT_TRUE(says(e, "tensor 'w': missing 'data_offsets'"));
  e = header_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":1}})", "x");
  EXPECT_TRUE(says(e, "tensor 'w': unknown field 'extra'"));
  e = header_error(R"({"w":[1]})", "");
  EXPECT_TRUE(says(e, "tensor 'w': must be an object"));
  e = header_error(R"({"__metadata__":{"n":1}})", "");
  EXPECT_TRUE(says(e, "__metadata__ value of 'n' must be a string"));
  e = header_error(R"({"__metadata__":"pt"})", "");
  EXPECT_TRUE(says(e, "__metadata__ must be an object"));
}

TEST_F(SafetensorsTest, HostileNamesStayOnOneLine) {
  auto e =
      header_error("{\"evil\\nname\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}", "");
  EXPECT_TRUE(says(e, "tensor 'evil\\x0aname'"));
}

TEST_F(SafetensorsTest, EmptyHeaderIsAnEmptyTable) {
  write_file(dir_ / "empty.safetensors", safetensors_bytes("{}", ""));
  auto file = SafetensorsFile::open(dir_ / "empty.safetensors");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_TRUE(file->tensors().empty());
}

TEST_F(SafetensorsTest, MissingFile) {
  auto file = SafetensorsFile::open(dir_ / "nope.safetensors");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
}

// ---- sharded checkpoints

std::string shard(const std::string& name_a, const std::string& name_b, std::uint8_t fill) {
  std::string header =
      "{\"" + name_a + R"(":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},")" + name_b +
      R"(":{"dtype":"U16","shape":[1],"data_offsets":[2,4]},"__metadata__":{"format":"pt"}})";
  return safetensors_bytes(header, std::string(4, static_cast<char>(fill)));
}

class ShardedTest : public SafetensorsTest {
 protected:
  void SetUp() override {
    write_file(dir_ / "model-00001-of-00002.safetensors", shard("a.w", "a.b", 1));
    write_file(dir_ / "model-00002-of-00002.safetensors", shard("b.w", "b.b", 2));
  }
  static std::string index(const std::string& weight_map) {
    return R"({"metadata":{"total_size":8},"weight_map":{)" + weight_map + "}}";
  }
  static std::string good_map() {
    return R"("a.w":"model-00001-of-00002.safetensors","a.b":"model-00001-of-00002.safetensors",)"
           R"("b.w":"model-00002-of-00002.safetensors","b.b":"model-00002-of-00002.safetensors")";
  }
  modelcache::Error index_error(const std::string& weight_map) {
    return open_error(index(weight_map), "model.safetensors.index.json");
  }
};

TEST_F(ShardedTest, LoadsAsOneTable) {
  write_file(dir_ / "model.safetensors.index.json", index(good_map()));
  // By the index file and by its directory.
  for (const auto& path : {dir_ / "model.safetensors.index.json", dir_.path()}) {
    auto file = SafetensorsFile::open(path, LoadOptions{Prefault::kYes});
    ASSERT_TRUE(file) << file.error().message;
    ASSERT_EQ(file->tensors().size(), 4u);
    EXPECT_EQ(file->tensors()[0].name, "a.b");
    EXPECT_EQ(file->tensors()[3].name, "b.w");
    ASSERT_EQ(file->files().size(), 2u);
    const auto* bw = file->find("b.w");
    ASSERT_NE(bw, nullptr);
    EXPECT_EQ(file->files()[bw->file].filename(), "model-00002-of-00002.safetensors");
    EXPECT_EQ(value_at<std::uint8_t>(*bw, 1), 2);
    EXPECT_EQ(value_at<std::uint8_t>(*file->find("a.w"), 0), 1);
    EXPECT_EQ(file->find("a.b")->dtype, Dtype::kU16);
    EXPECT_EQ(file->metadata().at("format"), "pt");
    EXPECT_EQ(file->tensor_bytes(), 8u);
  }
}

TEST_F(ShardedTest, MissingShard) {
  auto e = index_error(good_map() + R"(,"c.w":"model-00003-of-00003.safetensors")");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_TRUE(
      says(e, "shard 'model-00003-of-00003.safetensors' named by the weight_map is missing"));
}

TEST_F(ShardedTest, TensorMissingFromItsShard) {
  auto e = index_error(good_map() + R"(,"a.extra":"model-00001-of-00002.safetensors")");
  EXPECT_TRUE(says(e, "tensor 'a.extra' is not in its shard 'model-00001-of-00002.safetensors'"));
}

TEST_F(ShardedTest, TensorInTheWrongShardOrInTwo) {
  auto e = index_error(
      R"("a.w":"model-00002-of-00002.safetensors","a.b":"model-00001-of-00002.safetensors",)"
      R"("b.w":"model-00002-of-00002.safetensors","b.b":"model-00002-of-00002.safetensors")");
  EXPECT_TRUE(says(e,
                   "tensor 'a.w' is in shard 'model-00001-of-00002.safetensors' but the weight_map "
                   "puts it in 'model-00002-of-00002.safetensors'"));
  // The same name in both shards: one of them is not where the weight_map says.
  write_file(dir_ / "model-00002-of-00002.safetensors", shard("b.w", "a.w", 2));
  e = index_error(good_map());
  EXPECT_TRUE(
      says(e, "tensor 'a.w' is in shard 'model-00002-of-00002.safetensors' but the weight_map"));
}

TEST_F(ShardedTest, ShardTensorNotInTheWeightMap) {
  auto e = index_error(
      R"("a.w":"model-00001-of-00002.safetensors","a.b":"model-00001-of-00002.safetensors",)"
      R"("b.w":"model-00002-of-00002.safetensors")");
  EXPECT_TRUE(
      says(e, "tensor 'b.b' of shard 'model-00002-of-00002.safetensors' is not in the weight_map"));
}

TEST_F(ShardedTest, HostileShardNames) {
  fs::create_directory(dir_ / "sub");
  write_file(dir_ / "sub" / "x.safetensors", shard("a.w", "a.b", 1));
  write_file(dir_.path().parent_path() / "outside.safetensors", shard("a.w", "a.b", 1));
  for (const std::string name : {"../outside.safetensors", "sub/x.safetensors", "/etc/passwd", "..",
                                 "", "a\\\\b.safetensors", "a\\nb.safetensors"}) {
    auto e = index_error(R"("a.w":")" + name + "\"");
    EXPECT_EQ(e.code, ErrorCode::kIntegrity) << name;
    EXPECT_TRUE(says(e, "is not a plain file name next to the index"));
  }
  fs::remove(dir_.path().parent_path() / "outside.safetensors");
}

TEST_F(ShardedTest, BadIndexJson) {
  auto e = open_error(
      R"({"weight_map":{"a.w":"model-00001-of-00002.safetensors","a.w":"x.safetensors"}})",
      "model.safetensors.index.json");
  EXPECT_TRUE(says(e, "duplicate key 'a.w'"));
  e = open_error(R"({"metadata":{}})", "model.safetensors.index.json");
  EXPECT_TRUE(says(e, "\"weight_map\" object"));
  e = index_error("");
  EXPECT_TRUE(says(e, "weight_map is empty"));
  e = index_error(R"("a.w":3)");
  EXPECT_TRUE(says(e, "tensor 'a.w': the shard must be a file name string"));
}

TEST_F(ShardedTest, DirectoryWithoutIndex) {
  // Two shards and no index: which one is meant is not guessed.
  auto file = SafetensorsFile::open(dir_.path());
  ASSERT_FALSE(file);
  EXPECT_TRUE(says(file.error(), "2 .safetensors files and no index"));
  mctest::TempDir empty;
  file = SafetensorsFile::open(empty.path());
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
}

}  // namespace
