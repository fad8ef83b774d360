// What this machine can run: CPU features (__builtin_cpu_supports) and CUDA GPUs
// (libcuda.so.1 loaded with dlopen; no driver = no GPU, never an error).
// MODELCACHE_FAKE_GPU / MODELCACHE_FAKE_CPU_FEATURES replace the probe: testing
// knobs, so that GPU rules can be exercised on machines without one.
#pragma once

#include <optional>
#include <string>

#include "modelcache/error.hpp"
#include "modelcache/package.hpp"

namespace modelcache::package {

struct ProbeOverrides {
  std::optional<std::string> fake_gpu;           // "none" or "8.6[,7.5...]"
  std::optional<std::string> fake_cpu_features;  // "none" or "avx2,fma"
};

// The CPU features modelcache checks, in the order it reports them.
const std::vector<std::string>& known_cpu_features();

// The probe result, once per process (the probe loads the driver); overrides
// are applied on every call. Errors only for a malformed override.
Result<MachineInfo> probe_machine(const ProbeOverrides& overrides);

}  // namespace modelcache::package
