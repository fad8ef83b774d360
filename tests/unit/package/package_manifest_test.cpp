// modelcache-packages.json: a full valid manifest, and one error per rule, each
// naming its field.
#include "package/package_manifest.hpp"

#include <gtest/gtest.h>

#include "modelcache/package.hpp"

using namespace modelcache;
using namespace modelcache::package;

namespace {

const std::vector<std::string> kListed{"modelcache-packages.json", "config.json", "tokenizer.json",
                                       "onnx/model.fp32.onnx", "onnx/model.fp16.onnx", "model.safetensors",
                                       "trt/model.plan"};

Result<PackageSet> parse(const std::string& text) { return parse_manifest(text, kListed, "m"); }

std::string error_of(const std::string& text) {
  auto r = parse(text);
  EXPECT_FALSE(r.has_value()) << text;
  return r ? std::string() : r.error().message;
}

std::string with_package(const std::string& pkg) {
  return R"({"format": 1, "packages": [)" + pkg + "]}";
}

}  // namespace

TEST(PackageManifest, FullExampleParses) {
  auto r = parse(R"({
    "format": 1,
    "shared_files": ["config.json", "tokenizer.json"],
    "packages": [
      {"id": "onnx-fp32", "backend": "ONNX", "quantization": "fp32", "files": ["onnx/model.fp32.onnx"],
       "batch_size": {"min": 1, "max": 64}, "device": {"cpu_features": ["AVX2"]}},
      {"id": "trt-fp16", "backend": "trt", "quantization": "fp16", "files": ["trt/*"],
       "batch_size": {"static": 1},
       "device": {"cuda": {"min_compute_capability": "8.0", "max_compute_capability": "9.0"}},
       "description": "engine built for Ampere..Hopper"},
      {"id": "st", "backend": "safetensors", "files": ["*.safetensors"]}
    ]})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->has_manifest);
  EXPECT_EQ(r->shared_files,
            (std::vector<std::string>{"config.json", "modelcache-packages.json", "tokenizer.json"}));
  ASSERT_EQ(r->packages.size(), 3u);
  const auto& onnx = r->packages[0];
  EXPECT_EQ(onnx.backend, "onnx");
  EXPECT_EQ(onnx.files, std::vector<std::string>{"onnx/model.fp32.onnx"});
  ASSERT_TRUE(onnx.batch);
  EXPECT_EQ(onnx.batch->min, 1u);
  EXPECT_EQ(onnx.batch->max, 64u);
  EXPECT_FALSE(onnx.batch->is_static);
  EXPECT_EQ(onnx.cpu_features, std::vector<std::string>{"avx2"});
  const auto& trt = r->packages[1];
  ASSERT_TRUE(trt.cuda);
  EXPECT_EQ(trt.cuda->min_cc, 80);
  EXPECT_EQ(trt.cuda->max_cc, 90);
  EXPECT_TRUE(trt.batch->is_static);
  EXPECT_EQ(trt.files, std::vector<std::string>{"trt/model.plan"});
  EXPECT_FALSE(r->packages[2].batch);
  EXPECT_EQ(r->packages[2].quantization, "");
}

TEST(PackageManifest, ImplicitPackageHoldsEveryFile) {
  auto set = implicit_package({"b", "a"});
  EXPECT_FALSE(set.has_manifest);
  ASSERT_EQ(set.packages.size(), 1u);
  EXPECT_EQ(set.packages[0].id, "default");
  EXPECT_EQ(set.packages[0].files, (std::vector<std::string>{"a", "b"}));
}

TEST(PackageManifest, ErrorsNameTheField) {
  struct Case {
    std::string text;
    std::string expect;
  };
  const std::string ok_files = R"("files": ["config.json"])";
  std::vector<Case> cases{
      {"not json", "is not valid JSON"},
      {"[]", "the top level must be a JSON object"},
      {R"({"packages": []})", "format is missing"},
      {R"({"format": 2, "packages": [{}]})", "format is 2; this modelcache reads format 1"},
      {R"({"format": "1", "packages": [{}]})", "format is \"1\""},
      {R"({"format": 1})", "packages is missing"},
      {R"({"format": 1, "packages": []})", "packages must be a non-empty array"},
      {R"({"format": 1, "packages": [], "extra": 1})", "extra is not a known field"},
      {with_package(R"({"backend": "onnx", )" + ok_files + "}"), "packages[0].id is missing"},
      {with_package(R"({"id": "a", )" + ok_files + "}"), "packages[0].backend is missing"},
      {with_package(R"({"id": "a b", "backend": "onnx", )" + ok_files + "}"), "packages[0].id must be a name"},
      {with_package(R"({"id": "a", "backend": 3, )" + ok_files + "}"), "packages[0].backend must be a name"},
      {with_package(R"({"id": "a", "backend": "onnx", "files": []})"), "packages[0].files must not be empty"},
      {with_package(R"({"id": "a", "backend": "onnx", "files": "x"})"), "packages[0].files must be an array"},
      {with_package(R"({"id": "a", "backend": "onnx", "files": ["nope/*"]})"),
       "packages[0].files[0] 'nope/*' matches no file"},
      {with_package(R"({"id": "a", "backend": "onnx", "files": [3]})"), "packages[0].files[0] must be a non-empty"},
      {with_package(R"({"id": "a", "backend": "onnx", "colour": 1, )" + ok_files + "}"),
       "packages[0].colour is not a known field"},
      {with_package(R"({"id": "a", "backend": "onnx", )" + ok_files + R"(}, {"id": "a", "backend": "trt", )" +
                    ok_files + "}"),
       "packages[1].id 'a' is used twice"},
      {with_package(R"({"id": "a", "backend": "onnx", "batch_size": {"static": 0}, )" + ok_files + "}"),
       "packages[0].batch_size.static must be an integer"},
      {with_package(R"({"id": "a", "backend": "onnx", "batch_size": {"min": 8, "max": 2}, )" + ok_files + "}"),
       "packages[0].batch_size.min is larger than max"},
      {with_package(R"({"id": "a", "backend": "onnx", "batch_size": {"static": 1, "max": 2}, )" + ok_files + "}"),
       "packages[0].batch_size has \"static\" and"},
      {with_package(R"({"id": "a", "backend": "onnx", "batch_size": 4, )" + ok_files + "}"),
       "packages[0].batch_size must be"},
      {with_package(R"({"id": "a", "backend": "onnx", "device": {"cuda": {"min_compute_capability": 8}}, )" +
                    ok_files + "}"),
       "packages[0].device.cuda.min_compute_capability must be a string like"},
      {with_package(R"({"id": "a", "backend": "onnx", "device": {"cuda": {"min_compute_capability": "9.0", )"
                    R"("max_compute_capability": "8.0"}}, )" + ok_files + "}"),
       "max_compute_capability is lower than the minimum"},
      {with_package(R"({"id": "a", "backend": "onnx", "device": {"cpu_features": "avx2"}, )" + ok_files + "}"),
       "packages[0].device.cpu_features must be an array"},
      {with_package(R"({"id": "a", "backend": "onnx", "device": {"tpu": {}}, )" + ok_files + "}"),
       "packages[0].device.tpu is not a known field"},
      {R"({"format": 1, "shared_files": ["missing.txt"], "packages": [{"id": "a", "backend": "onnx", )" + ok_files +
           "}]}",
       "shared_files[0] 'missing.txt' matches no file"},
  };
  for (const auto& c : cases) {
    std::string msg = error_of(c.text);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "input: " << c.text << "\nerror: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("m: ", 0) == 0 || msg.rfind("m is", 0) == 0, true) << msg;
  }
}

TEST(PackageManifest, ComputeCapability) {
  EXPECT_EQ(parse_compute_capability("8.6"), 86);
  EXPECT_EQ(parse_compute_capability("10.0"), 100);
  EXPECT_FALSE(parse_compute_capability("8"));
  EXPECT_FALSE(parse_compute_capability("8.10"));
  EXPECT_FALSE(parse_compute_capability(".5"));
  EXPECT_FALSE(parse_compute_capability("x.5"));
  EXPECT_EQ(format_compute_capability(75), "7.5");
}
