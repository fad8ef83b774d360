// Model packages (doc/PACKAGES.md): a model repo may publish several packages
// (ONNX fp16, safetensors bf16, a TensorRT engine...) in modelcache-packages.json.
// Negotiation keeps the ones this machine can run and the caller asked for, and
// ranks them in the documented order; the winner's files are what a pull fetches.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace modelcache {

// The manifest a model carries at its root; a model without it is one package.
inline constexpr const char* kPackageManifestName = "modelcache-packages.json";
inline constexpr const char* kImplicitPackageId = "default";

struct PackageRequest {
  std::vector<std::string> backends;       // ordered preference; empty = every backend, default order
  std::vector<std::string> quantizations;  // ordered preference; empty = every one, default order
  std::optional<std::uint32_t> batch_size;  // must fit the package's static/dynamic bounds
};

// What the probe found (or the MODELCACHE_FAKE_* testing knobs said).
struct MachineInfo {
  std::vector<std::string> cpu_features;  // of the features modelcache checks, those present
  std::vector<std::string> gpus;          // CUDA compute capability per device, e.g. "8.6"
  std::string source;                     // "probe", or the testing knobs that replaced it
};

struct PackageCandidate {
  std::string id;
  std::string backend;
  std::string quantization;
  bool kept = false;
  int rank = 0;        // 1 = winner; 0 when dropped
  std::string reason;  // dropped: why; kept: the sort key in words
};

struct PackageResolution {
  std::string model;        // canonical model id
  std::string revision;     // as asked
  std::string snapshot_id;  // the snapshot whose manifest was negotiated
  bool has_manifest = false;  // false: the implicit package "default" (every file)
  std::string chosen;         // package id
  std::vector<std::string> files;  // the chosen package's files + shared files + the manifest
  std::vector<PackageCandidate> candidates;  // kept ones by rank, then dropped ones in manifest order
  MachineInfo machine;
};

}  // namespace modelcache
