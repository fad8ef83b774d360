#include "core/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

using namespace modelcache::core;

namespace {
// Sets environment variables for one test and restores them afterwards.
class EnvGuard {
 public:
  EnvGuard() {
    for (const char* v : kVars) {
      const char* old = getenv(v);
      saved_.emplace_back(v, old ? std::optional<std::string>(old) : std::nullopt);
      unsetenv(v);
    }
  }
  ~EnvGuard() {
    for (auto& [k, v] : saved_) {
      if (v) setenv(k.c_str(), v->c_str(), 1);
      else unsetenv(k.c_str());
    }
  }
  static constexpr const char* kVars[] = {"MODELCACHE_HOME", "MODEL_CACHE_DIR", "INFERENCE_HOME",
                                          "XDG_CACHE_HOME", "HOME", "MODELCACHE_REF_TTL",
                                          "HF_HUB_OFFLINE", "MODELCACHE_OFFLINE", "HF_ENDPOINT",
                                          "STORAGE_EMULATOR_HOST", "HF_HUB_CACHE", "HF_HOME"};

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};
}  // namespace

TEST(Config, CacheRootPrecedence) {
  EnvGuard g;
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(*resolve_cache_root(), "/home/u/.cache/modelcache");
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(*resolve_cache_root(), "/xdg/modelcache");
  setenv("INFERENCE_HOME", "/inf", 1);
  EXPECT_EQ(*resolve_cache_root(), "/inf");
  setenv("MODEL_CACHE_DIR", "/mcd", 1);
  EXPECT_EQ(*resolve_cache_root(), "/mcd");
  setenv("MODELCACHE_HOME", "/mch", 1);
  EXPECT_EQ(*resolve_cache_root(), "/mch");
  EXPECT_EQ(*resolve_cache_root("/explicit"), "/explicit");
}

TEST(Config, OfflineAndEndpointAndBadValues) {
  EnvGuard g;
  setenv("HOME", "/home/u", 1);
  setenv("HF_HUB_OFFLINE", "1", 1);
  setenv("HF_ENDPOINT", "http://127.0.0.1:9/", 1);
  auto c = Config::from_env();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->network, modelcache::NetworkMode::kOffline);
  EXPECT_EQ(c->hf_endpoint, "http://127.0.0.1:9");
  EXPECT_EQ(c->ref_ttl.count(), 600);
  setenv("MODELCACHE_REF_TTL", "soon", 1);
  auto bad = Config::from_env();
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("MODELCACHE_REF_TTL"), std::string::npos);
}

TEST(Config, GcsEndpointFromStorageEmulatorHost) {
  EnvGuard g;
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(Config::from_env()->gcs_endpoint, "https://storage.googleapis.com");
  setenv("STORAGE_EMULATOR_HOST", "localhost:4443", 1);  // no scheme: http
  EXPECT_EQ(Config::from_env()->gcs_endpoint, "http://localhost:4443");
  setenv("STORAGE_EMULATOR_HOST", "https://gcs.internal:8443/", 1);
  EXPECT_EQ(Config::from_env()->gcs_endpoint, "https://gcs.internal:8443");
}

TEST(Config, HfCacheDirPrecedence) {
  EnvGuard env;
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(*resolve_hf_cache_dir(), "/home/u/.cache/huggingface/hub");
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(*resolve_hf_cache_dir(), "/xdg/huggingface/hub");
  setenv("HF_HOME", "/hfh", 1);
  EXPECT_EQ(*resolve_hf_cache_dir(), "/hfh/hub");
  setenv("HF_HUB_CACHE", "/hub//cache/", 1);
  EXPECT_EQ(*resolve_hf_cache_dir(), "/hub/cache/");
  EXPECT_EQ(*resolve_hf_cache_dir("/given"), "/given");
}
