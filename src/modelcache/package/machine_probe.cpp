#include "package/machine_probe.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <mutex>

#include "package/package_manifest.hpp"
#include "util/strings.hpp"

namespace modelcache::package {

namespace {

// The few driver API entry points needed, declared here: no CUDA headers.
using CuInit = int (*)(unsigned int);
using CuDeviceGetCount = int (*)(int*);
using CuDeviceGet = int (*)(int*, int);
using CuDeviceGetAttribute = int (*)(int*, int, int);
constexpr int kCuSuccess = 0;
constexpr int kAttrCcMajor = 75;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kAttrCcMinor = 76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

std::vector<std::string> probe_gpus() {
  std::vector<std::string> out;
  // The library stays loaded: unloading a CUDA driver after cuInit is not safe.
  void* lib = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return out;
  auto init = reinterpret_cast<CuInit>(::dlsym(lib, "cuInit"));
  auto count = reinterpret_cast<CuDeviceGetCount>(::dlsym(lib, "cuDeviceGetCount"));
  auto get = reinterpret_cast<CuDeviceGet>(::dlsym(lib, "cuDeviceGet"));
  auto attr = reinterpret_cast<CuDeviceGetAttribute>(::dlsym(lib, "cuDeviceGetAttribute"));
  if (!init || !count || !get || !attr || init(0) != kCuSuccess) return out;
  int n = 0;
  if (count(&n) != kCuSuccess) return out;
  for (int i = 0; i < n; ++i) {
    int dev = 0, major = 0, minor = 0;
    if (get(&dev, i) != kCuSuccess || attr(&major, kAttrCcMajor, dev) != kCuSuccess ||
        attr(&minor, kAttrCcMinor, dev) != kCuSuccess) {
      continue;
    }
    out.push_back(std::to_string(major) + "." + std::to_string(minor));
  }
  return out;
}

std::vector<std::string> probe_cpu() {
  std::vector<std::string> out;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // __builtin_cpu_supports takes literals only: one line per known feature.
  if (__builtin_cpu_supports("sse4.2")) out.push_back("sse4.2");
  if (__builtin_cpu_supports("avx")) out.push_back("avx");
  if (__builtin_cpu_supports("avx2")) out.push_back("avx2");
  if (__builtin_cpu_supports("fma")) out.push_back("fma");
  if (__builtin_cpu_supports("avx512f")) out.push_back("avx512f");
  if (__builtin_cpu_supports("avx512bw")) out.push_back("avx512bw");
  if (__builtin_cpu_supports("avx512vl")) out.push_back("avx512vl");
  if (__builtin_cpu_supports("avx512vnni")) out.push_back("avx512vnni");
  if (__builtin_cpu_supports("avx512bf16")) out.push_back("avx512bf16");
#endif
  return out;
}

Result<std::vector<std::string>> parse_list(const std::string& value, const char* var, bool gpu) {
  std::vector<std::string> out;
  if (util::to_lower(util::trim(value)) == "none") return out;
  std::string known;
  for (const auto& f : known_cpu_features()) known += (known.empty() ? "" : " ") + f;
  for (const auto& part : util::split(value, ',')) {
    std::string item = util::to_lower(util::trim(part));
    if (gpu ? !parse_compute_capability(item).has_value()
            : std::find(known_cpu_features().begin(), known_cpu_features().end(), item) ==
                  known_cpu_features().end()) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string(var) + "='" + value + "': " +
                      (gpu ? "give compute capabilities like 8.6,7.5, or none"
                           : "give features modelcache checks (" + known + "), or none"));
    }
    out.push_back(item);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& known_cpu_features() {
  static const std::vector<std::string> features{"sse4.2",   "avx",      "avx2",       "fma",       "avx512f",
                                                 "avx512bw", "avx512vl", "avx512vnni", "avx512bf16"};
  return features;
}

Result<MachineInfo> probe_machine(const ProbeOverrides& overrides) {
  MachineInfo info;
  std::vector<std::string> knobs;
  if (overrides.fake_cpu_features) {
    auto f = parse_list(*overrides.fake_cpu_features, "MODELCACHE_FAKE_CPU_FEATURES", false);
    if (!f) return std::unexpected(f.error());
    info.cpu_features = std::move(*f);
    knobs.push_back("MODELCACHE_FAKE_CPU_FEATURES");
  } else {
    static const std::vector<std::string> cpu = probe_cpu();
    info.cpu_features = cpu;
  }
  if (overrides.fake_gpu) {
    auto g = parse_list(*overrides.fake_gpu, "MODELCACHE_FAKE_GPU", true);
    if (!g) return std::unexpected(g.error());
    info.gpus = std::move(*g);
    knobs.push_back("MODELCACHE_FAKE_GPU");
  } else {
    static std::once_flag once;
    static std::vector<std::string> gpus;
    std::call_once(once, [] { gpus = probe_gpus(); });
    info.gpus = gpus;
  }
  info.source = knobs.empty() ? "probe" : (knobs.size() == 1 ? knobs[0] : knobs[0] + "+" + knobs[1]);
  return info;
}

}  // namespace modelcache::package
