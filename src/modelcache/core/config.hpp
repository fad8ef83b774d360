// Settings from the environment, in one place. Every variable is documented in
// the README's configuration table.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "modelcache/cache.hpp"
#include "modelcache/error.hpp"

namespace modelcache::core {

struct TransferSettings {
  int max_connections = 16;          // MODELCACHE_MAX_CONNECTIONS: all hosts together
  int max_connections_per_host = 8;  // MODELCACHE_CONNECTIONS_PER_HOST
  std::uint64_t min_segment_bytes = 16ull << 20;  // MODELCACHE_MIN_SEGMENT: smaller is not split
  int max_attempts = 6;              // MODELCACHE_MAX_ATTEMPTS per request
  std::chrono::milliseconds backoff_base{500};    // MODELCACHE_BACKOFF_MS: first retry delay
  std::chrono::seconds stall_timeout{30};         // MODELCACHE_STALL_TIMEOUT: no byte for this long
  std::chrono::seconds connect_timeout{15};
  std::string ca_bundle;             // SSL_CERT_FILE / CURL_CA_BUNDLE
};

// Package negotiation decisions (doc/PACKAGES.md, "Decision cache").
enum class ResolutionCacheMode { kOn, kOff };
struct PackageSettings {
  std::chrono::seconds resolution_ttl{86400};       // MODELCACHE_RESOLUTION_TTL (seconds)
  ResolutionCacheMode mode = ResolutionCacheMode::kOn;  // MODELCACHE_RESOLUTION_CACHE=off
  std::filesystem::path resolution_cache_dir;  // MODELCACHE_RESOLUTION_CACHE_DIR; empty = $ROOT/resolution-cache
  // Testing knobs that replace the machine probe: "none" or "8.6[,7.5]";
  // "none" or "avx2,fma". MODELCACHE_FAKE_GPU, MODELCACHE_FAKE_CPU_FEATURES.
  std::optional<std::string> fake_gpu;
  std::optional<std::string> fake_cpu_features;
};

// `serve`'s model manager (doc/INFERENCE.md). The flags --max-models and
// --memory-budget win over these.
struct ModelSettings {
  std::size_t max_models = 8;        // MAX_ACTIVE_MODELS: loaded models at once
  std::vector<std::string> pinned;   // PINNED_MODELS: model ids, loaded at start, never evicted
  std::vector<std::string> preload;  // PRELOAD_MODELS: model ids loaded at start, then ordinary LRU members
};

struct Config {
  std::filesystem::path root;
  std::string hf_endpoint = "https://huggingface.co";  // HF_ENDPOINT, no trailing '/'
  std::optional<std::string> hf_token;                 // HF_TOKEN, HUGGING_FACE_HUB_TOKEN
  NetworkMode network = NetworkMode::kOnline;          // MODELCACHE_OFFLINE=1, HF_HUB_OFFLINE=1
  std::chrono::seconds ref_ttl{600};                   // MODELCACHE_REF_TTL (seconds)
  int list_page_size = 1000;  // MODELCACHE_LIST_PAGE_SIZE: keys per bucket listing page
  // GCS JSON API root, no trailing '/': STORAGE_EMULATOR_HOST ("host:port" or a URL;
  // http:// when it has no scheme), else Google's.
  std::string gcs_endpoint = "https://storage.googleapis.com";
  // AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL: an S3-compatible endpoint, addressed
  // path style (ENDPOINT/BUCKET/KEY); empty = AWS (virtual-hosted). No trailing '/'.
  std::string s3_endpoint;
  TransferSettings transfer;
  // MODELCACHE_MAX_SIZE ("10GiB"): after each pull that went to the origin, gc
  // removes least-recently-used snapshots until the blobs fit. Unset: no budget.
  std::optional<std::uint64_t> max_size;
  PackageSettings packages;
  ModelSettings models;
  // MODELCACHE_SHARED_GROUP (group name or gid): a cache shared by that group's
  // members (02770 directories, group-writable locks and parts). A root owned by
  // another member is then accepted.
  std::optional<unsigned> shared_group;
  // MODELCACHE_ALLOW_SHARED_ROOT=1: accept a root owned by another user or
  // writable by others (unsafe: they can plant files the cache trusts).
  bool allow_shared_root = false;
  // MODELCACHE_ONNX_PLUGIN: the OpenCV plugin ONNX models load through
  // (runtime/onnx_plugin_api.hpp); empty = libmodelcache_onnx.so next to the binary.
  std::filesystem::path onnx_plugin;

  static Result<Config> from_env(const std::filesystem::path& root_override = {});
};

// MODELCACHE_HOME, MODEL_CACHE_DIR, INFERENCE_HOME, $XDG_CACHE_HOME/modelcache, ~/.cache/modelcache.
Result<std::filesystem::path> resolve_cache_root(const std::filesystem::path& root_override = {});

// The Hugging Face cache folder (`export/import --hf-cache`), as huggingface_hub finds it:
// the override, HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub.
Result<std::filesystem::path> resolve_hf_cache_dir(const std::filesystem::path& dir_override = {});

}  // namespace modelcache::core
