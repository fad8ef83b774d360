#include "core/config.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "util/strings.hpp"

namespace modelcache::core {

namespace fs = std::filesystem;

namespace {
// $XDG_CACHE_HOME, else ~/.cache; `setting` is what to set when neither is known.
Result<fs::path> user_cache_dir(std::string_view setting) {
  if (auto xdg = util::env("XDG_CACHE_HOME")) return fs::path(*xdg);
  std::string home = util::env("HOME").value_or("");
  if (home.empty()) {
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) home = pw->pw_dir;
  }
  if (home.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "cannot find a cache directory: set " + std::string(setting) + " (HOME is not set)");
  }
  return fs::path(home) / ".cache";
}

Result<fs::path> absolute_dir(const fs::path& dir) {
  std::error_code ec;
  fs::path abs = fs::absolute(dir, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "bad cache directory " + dir.string());
  return abs.lexically_normal();
}
}  // namespace

Result<fs::path> resolve_cache_root(const fs::path& root_override) {
  fs::path root = root_override;
  if (root.empty()) {
    for (const char* var : {"MODELCACHE_HOME", "MODEL_CACHE_DIR", "INFERENCE_HOME"}) {
      if (auto v = util::env(var)) {
        root = *v;
        break;
      }
    }
  }
  if (root.empty()) {
    auto base = user_cache_dir("MODELCACHE_HOME");
    if (!base) return std::unexpected(base.error());
    root = *base / "modelcache";
  }
  return absolute_dir(root);
}

Result<fs::path> resolve_hf_cache_dir(const fs::path& dir_override) {
  fs::path dir = dir_override;
  if (dir.empty()) {
    if (auto v = util::env("HF_HUB_CACHE")) {
      dir = *v;
    } else if (auto home = util::env("HF_HOME")) {
      dir = fs::path(*home) / "hub";
    } else {
      auto base = user_cache_dir("HF_HUB_CACHE");
      if (!base) return std::unexpected(base.error());
      dir = *base / "huggingface" / "hub";
    }
  }
  return absolute_dir(dir);
}

namespace {
Status read_int(const char* name, auto& out, std::int64_t min, std::int64_t max) {
  auto v = util::env(name);
  if (!v) return {};
  auto n = util::parse_int(*v);
  if (!n || *n < min || *n > max) {
    return fail(ErrorCode::kInvalidArgument, std::string(name) + "='" + *v + "' is not an integer in [" +
                                                 std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  using T = std::remove_reference_t<decltype(out)>;
  if constexpr (std::is_arithmetic_v<T>) {
    out = static_cast<T>(*n);
  } else {
    out = T(*n);
  }
  return {};
}

bool truthy(const char* name) {
  auto v = util::env(name);
  if (!v) return false;
  std::string s = util::to_lower(*v);
  return s == "1" || s == "true" || s == "yes" || s == "on";
}
}  // namespace

Result<Config> Config::from_env(const fs::path& root_override) {
  Config c;
  auto root = resolve_cache_root(root_override);
  if (!root) return std::unexpected(root.error());
  c.root = *root;
  if (auto e = util::env("HF_ENDPOINT")) {
    c.hf_endpoint = *e;
    while (!c.hf_endpoint.empty() && c.hf_endpoint.back() == '/') c.hf_endpoint.pop_back();
  }
  if (auto e = util::env("STORAGE_EMULATOR_HOST")) {
    c.gcs_endpoint = e->find("://") == std::string::npos ? "http://" + *e : *e;
    while (!c.gcs_endpoint.empty() && c.gcs_endpoint.back() == '/') c.gcs_endpoint.pop_back();
  }
  if (auto e = util::env("MODELCACHE_ONNX_PLUGIN")) c.onnx_plugin = *e;
  c.hf_token = util::env("HF_TOKEN");
  if (!c.hf_token) c.hf_token = util::env("HUGGING_FACE_HUB_TOKEN");
  if (auto e = util::env("AWS_ENDPOINT_URL_S3")) c.s3_endpoint = *e;
  else if (auto e2 = util::env("AWS_ENDPOINT_URL")) c.s3_endpoint = *e2;
  while (c.s3_endpoint.ends_with('/')) c.s3_endpoint.pop_back();
  if (truthy("MODELCACHE_OFFLINE") || truthy("HF_HUB_OFFLINE")) c.network = NetworkMode::kOffline;
  auto& t = c.transfer;
  for (auto s : {read_int("MODELCACHE_REF_TTL", c.ref_ttl, 0, 10LL * 365 * 86400),
                 read_int("MODELCACHE_MAX_CONNECTIONS", t.max_connections, 1, 256),
                 read_int("MODELCACHE_CONNECTIONS_PER_HOST", t.max_connections_per_host, 1, 64),
                 read_int("MODELCACHE_MAX_ATTEMPTS", t.max_attempts, 1, 100),
                 read_int("MODELCACHE_BACKOFF_MS", t.backoff_base, 0, 600000),
                 read_int("MODELCACHE_STALL_TIMEOUT", t.stall_timeout, 1, 3600),
                 read_int("MODELCACHE_LIST_PAGE_SIZE", c.list_page_size, 1, 5000),
                 read_int("MODELCACHE_RESOLUTION_TTL", c.packages.resolution_ttl, 0, 10LL * 365 * 86400),
                 read_int("MAX_ACTIVE_MODELS", c.models.max_models, 1, 100000)}) {
    if (!s) return std::unexpected(s.error());
  }
  if (auto v = util::env("MODELCACHE_MIN_SEGMENT")) {
    auto n = util::parse_size(*v);
    if (!n || *n < 65536) {
      return fail(ErrorCode::kInvalidArgument,
                  "MODELCACHE_MIN_SEGMENT='" + *v + "' must be a size of at least 64KiB");
    }
    t.min_segment_bytes = *n;
  }
  if (auto v = util::env("MODELCACHE_MAX_SIZE")) {
    c.max_size = util::parse_size(*v);
    if (!c.max_size) {
      return fail(ErrorCode::kInvalidArgument, "MODELCACHE_MAX_SIZE='" + *v + "' is not a size (e.g. 500MiB, 10GiB)");
    }
  }
  auto& pk = c.packages;
  if (auto v = util::env("MODELCACHE_RESOLUTION_CACHE")) {
    std::string m = util::to_lower(*v);
    if (m == "off" || m == "0" || m == "false" || m == "no") pk.mode = ResolutionCacheMode::kOff;
    else if (!(m == "on" || m == "1" || m == "true" || m == "yes")) {
      return fail(ErrorCode::kInvalidArgument, "MODELCACHE_RESOLUTION_CACHE='" + *v + "' must be on or off");
    }
  }
  if (auto v = util::env("MODELCACHE_RESOLUTION_CACHE_DIR"); v && !v->empty()) {
    std::error_code ec;
    pk.resolution_cache_dir = fs::absolute(*v, ec).lexically_normal();
    if (ec) return fail(ErrorCode::kInvalidArgument, "bad MODELCACHE_RESOLUTION_CACHE_DIR " + *v);
  }
  pk.fake_gpu = util::env("MODELCACHE_FAKE_GPU");
  pk.fake_cpu_features = util::env("MODELCACHE_FAKE_CPU_FEATURES");
  if (auto v = util::env("MODELCACHE_SHARED_GROUP")) {
    auto gid = util::parse_int(*v);
    if (const group* gr = gid ? nullptr : ::getgrnam(v->c_str())) gid = gr->gr_gid;
    if (!gid || *gid < 0) {
      return fail(ErrorCode::kInvalidArgument,
                  "MODELCACHE_SHARED_GROUP='" + *v + "' is not a group on this machine; use a name or gid from /etc/group");
    }
    c.shared_group = static_cast<unsigned>(*gid);
  }
  c.allow_shared_root = truthy("MODELCACHE_ALLOW_SHARED_ROOT");
  // Comma-separated model ids, as the names say in Roboflow Inference.
  for (auto [name, list] : {std::pair{"PINNED_MODELS", &c.models.pinned},
                            std::pair{"PRELOAD_MODELS", &c.models.preload}}) {
    for (const auto& id : util::split(util::env(name).value_or(""), ',')) {
      if (auto t = util::trim(id); !t.empty()) list->emplace_back(t);
    }
  }
  if (auto v = util::env("SSL_CERT_FILE")) t.ca_bundle = *v;
  else if (auto v2 = util::env("CURL_CA_BUNDLE")) t.ca_bundle = *v2;
  return c;
}

}  // namespace modelcache::core
