// Filtering and ranking (doc/PACKAGES.md, rules 1-10): a table of machines and
// requests over one set of packages, checking the whole ranked order each time.
#include "package/negotiate.hpp"

#include <gtest/gtest.h>

#include "package/machine_probe.hpp"

using namespace modelcache;
using namespace modelcache::package;

namespace {

Package pkg(std::string id, std::string backend, std::string quant) {
  Package p;
  p.id = std::move(id);
  p.backend = std::move(backend);
  p.quantization = std::move(quant);
  p.files = {p.id + ".bin"};
  return p;
}

PackageSet sample() {
  PackageSet set;
  set.has_manifest = true;
  auto trt = pkg("trt-fp16", "trt", "fp16");
  trt.batch = BatchBounds{1, 1, true};
  trt.cuda = CudaNeeds{80, 90};
  auto onnx_gpu = pkg("onnx-fp16-gpu", "onnx", "fp16");
  onnx_gpu.cuda = CudaNeeds{70, std::nullopt};
  onnx_gpu.batch = BatchBounds{1, 32, false};
  auto onnx32 = pkg("onnx-fp32", "onnx", "fp32");
  onnx32.batch = BatchBounds{1, 64, false};
  onnx32.cpu_features = {"avx2"};
  auto onnx32_static = pkg("onnx-fp32-b8", "onnx", "fp32");
  onnx32_static.batch = BatchBounds{8, 8, true};
  auto st = pkg("st-bf16", "safetensors", "bf16");
  auto avx512 = pkg("onnx-int8-avx512", "onnx", "int8");
  avx512.cpu_features = {"avx512f", "avx512vnni"};
  set.packages = {trt, onnx_gpu, onnx32, onnx32_static, st, avx512};
  return set;
}

MachineInfo machine(std::vector<std::string> cpu, std::vector<std::string> gpus) {
  return MachineInfo{std::move(cpu), std::move(gpus), "test"};
}

std::vector<std::string> kept_order(const Negotiation& n) {
  std::vector<std::string> out;
  for (const auto& c : n.candidates) {
    if (c.kept) out.push_back(c.id);
  }
  return out;
}

std::string reason(const Negotiation& n, const std::string& id) {
  for (const auto& c : n.candidates) {
    if (c.id == id) return c.kept ? "kept" : c.reason;
  }
  return "absent";
}

}  // namespace

TEST(Negotiate, TableOfMachinesAndRequests) {
  struct Case {
    std::string name;
    PackageRequest request;
    MachineInfo m;
    std::vector<std::string> expect;
  };
  const auto cpu = machine({"avx", "avx2"}, {});
  const auto cpu512 = machine({"avx2", "avx512f", "avx512vnni"}, {});
  const auto ampere = machine({"avx2"}, {"8.6"});
  const auto turing = machine({"avx2"}, {"7.5"});
  const auto blackwell = machine({"avx2"}, {"10.0"});
  std::vector<Case> cases{
      // Default backend order trt, onnx, safetensors; quantization fp32, bf16, fp16, int8.
      {"cpu default", {}, cpu, {"onnx-fp32", "onnx-fp32-b8", "st-bf16"}},
      {"cpu with avx512", {}, cpu512, {"onnx-fp32", "onnx-fp32-b8", "onnx-int8-avx512", "st-bf16"}},
      // With a GPU, within a backend, the package that uses it comes first.
      {"ampere default", {}, ampere, {"trt-fp16", "onnx-fp16-gpu", "onnx-fp32", "onnx-fp32-b8", "st-bf16"}},
      {"turing: trt cc range excludes 7.5", {}, turing, {"onnx-fp16-gpu", "onnx-fp32", "onnx-fp32-b8", "st-bf16"}},
      {"cc above max", {}, blackwell, {"onnx-fp16-gpu", "onnx-fp32", "onnx-fp32-b8", "st-bf16"}},
      {"backend order requested", {{"safetensors", "onnx"}, {}, {}}, ampere,
       {"st-bf16", "onnx-fp16-gpu", "onnx-fp32", "onnx-fp32-b8"}},
      {"quantization order requested", {{}, {"fp16", "fp32"}, {}}, ampere,
       {"trt-fp16", "onnx-fp16-gpu", "onnx-fp32", "onnx-fp32-b8"}},
      // An explicit quantization order wins over the GPU rule.
      {"fp32 asked first on a GPU", {{"onnx"}, {"fp32", "fp16"}, {}}, ampere,
       {"onnx-fp32", "onnx-fp32-b8", "onnx-fp16-gpu"}},
      {"batch 8: static exact match first", {{"onnx"}, {"fp32"}, 8}, cpu, {"onnx-fp32-b8", "onnx-fp32"}},
      {"batch 64 fits only the dynamic one", {{"onnx"}, {}, 64}, ampere, {"onnx-fp32"}},
      {"batch 1 on ampere", {{}, {"fp16"}, 1}, ampere, {"trt-fp16", "onnx-fp16-gpu"}},
      {"nothing fits", {{"gguf"}, {}, {}}, cpu, {}},
  };
  const auto set = sample();
  for (const auto& c : cases) {
    auto req = normalize_request(c.request);
    ASSERT_TRUE(req.has_value()) << c.name;
    auto n = negotiate(set, *req, c.m);
    EXPECT_EQ(kept_order(n), c.expect) << c.name;
    EXPECT_EQ(n.candidates.size(), set.packages.size()) << c.name;
    if (c.expect.empty()) {
      EXPECT_FALSE(n.winner) << c.name;
    } else {
      ASSERT_TRUE(n.winner) << c.name;
      EXPECT_EQ(set.packages[*n.winner].id, c.expect.front()) << c.name;
      EXPECT_EQ(n.candidates.front().rank, 1) << c.name;
    }
  }
}

TEST(Negotiate, GpuPackagesFirstWhenAGpuIsPresent) {
  PackageSet set;
  auto cpu = pkg("b-cpu", "onnx", "fp16");
  auto gpu = pkg("z-gpu", "onnx", "fp16");
  gpu.cuda = CudaNeeds{};
  set.packages = {cpu, gpu};
  EXPECT_EQ(kept_order(negotiate(set, {}, machine({}, {"8.0"}))), (std::vector<std::string>{"z-gpu", "b-cpu"}));
  EXPECT_EQ(kept_order(negotiate(set, {}, machine({}, {}))), (std::vector<std::string>{"b-cpu"}));
}

TEST(Negotiate, UnknownNamesRankAfterKnownOnesByNameThenId) {
  PackageSet set;
  set.packages = {pkg("c", "openvino", "fp32"), pkg("b", "ncnn", "fp32"), pkg("a", "onnx", "q4_k_m"),
                  pkg("d", "onnx", "fp32")};
  EXPECT_EQ(kept_order(negotiate(set, {}, machine({}, {}))), (std::vector<std::string>{"d", "a", "b", "c"}));
}

TEST(Negotiate, DroppedReasonsSayWhy) {
  auto set = sample();
  auto req = normalize_request({{"onnx", "trt"}, {"fp16", "fp32"}, 16});
  ASSERT_TRUE(req);
  auto n = negotiate(set, *req, machine({"avx"}, {}));
  EXPECT_EQ(reason(n, "st-bf16"), "backend safetensors not requested (--backend onnx,trt)");
  EXPECT_EQ(reason(n, "onnx-int8-avx512"), "quantization int8 not requested (--quantization fp16,fp32)");
  EXPECT_EQ(reason(n, "trt-fp16"), "batch size 16 does not fit its static batch 1");
  EXPECT_EQ(reason(n, "onnx-fp16-gpu"), "needs a CUDA GPU with compute capability >= 7.0, none found");
  EXPECT_EQ(reason(n, "onnx-fp32"), "needs CPU feature(s) avx2, which this machine lacks");
  EXPECT_EQ(reason(n, "onnx-fp32-b8"), "batch size 16 does not fit its static batch 8");
  auto gpu = negotiate(set, {}, machine({"avx2"}, {"7.5"}));
  EXPECT_EQ(reason(gpu, "trt-fp16"), "needs a CUDA GPU with compute capability 8.0..9.0, this machine has 7.5");
  std::string all = describe_dropped(n);
  EXPECT_NE(all.find("st-bf16: backend safetensors not requested"), std::string::npos) << all;
  EXPECT_EQ(all.find('\n'), std::string::npos);
}

TEST(Negotiate, TrtWithoutCudaBlockStillNeedsAGpu) {
  PackageSet set;
  set.packages = {pkg("engine", "trt", "fp16")};
  auto n = negotiate(set, {}, machine({}, {}));
  EXPECT_EQ(reason(n, "engine"), "backend trt needs a CUDA GPU, none found");
  EXPECT_EQ(kept_order(negotiate(set, {}, machine({}, {"6.1"}))), std::vector<std::string>{"engine"});
}

TEST(Negotiate, RequestIsNormalized) {
  auto r = normalize_request({{"ONNX,trt", "onnx"}, {" FP16 "}, 4});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->backends, (std::vector<std::string>{"onnx", "trt"}));
  EXPECT_EQ(r->quantizations, std::vector<std::string>{"fp16"});
  EXPECT_FALSE(normalize_request({{"onnx,"}, {}, {}}));
  EXPECT_FALSE(normalize_request({{}, {}, 0}));
}

TEST(MachineProbe, OverridesReplaceTheProbe) {
  auto m = probe_machine({"8.6,7.5", "avx2,FMA"});
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->gpus, (std::vector<std::string>{"8.6", "7.5"}));
  EXPECT_EQ(m->cpu_features, (std::vector<std::string>{"avx2", "fma"}));
  EXPECT_EQ(m->source, "MODELCACHE_FAKE_CPU_FEATURES+MODELCACHE_FAKE_GPU");
  auto none = probe_machine({"none", "none"});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->gpus.empty());
  EXPECT_TRUE(none->cpu_features.empty());
  auto bad = probe_machine({"eight", std::nullopt});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("MODELCACHE_FAKE_GPU='eight'"), std::string::npos);
  EXPECT_FALSE(probe_machine({std::nullopt, "avx9000"}));
}

TEST(MachineProbe, RealProbeNeverFails) {
  auto m = probe_machine({});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->source, "probe");
  for (const auto& f : m->cpu_features) {
    EXPECT_NE(std::find(known_cpu_features().begin(), known_cpu_features().end(), f), known_cpu_features().end());
  }
}
