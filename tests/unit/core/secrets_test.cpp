#include "core/secrets.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <optional>

#include "temp_dir.hpp"

using namespace modelcache;
using namespace modelcache::core;

namespace {

constexpr const char* kValue = "hf_do_not_print_this_value_123";

// Unsets the variables a test uses and restores them afterwards.
class SecretEnv {
 public:
  explicit SecretEnv(std::initializer_list<const char*> vars) {
    for (const char* v : vars) {
      const char* old = getenv(v);
      saved_.emplace_back(v, old ? std::optional<std::string>(old) : std::nullopt);
      unsetenv(v);
    }
  }
  ~SecretEnv() {
    for (auto& [k, v] : saved_) {
      if (v) setenv(k.c_str(), v->c_str(), 1);
      else unsetenv(k.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

void write(const std::filesystem::path& p, const std::string& s) { std::ofstream(p) << s; }

}  // namespace

TEST(Secrets, EnvNameUpperCasesAndReplacesPunctuation) {
  EXPECT_EQ(secret_env_name("hf_access_token"), "MODELCACHE_SECRET_HF_ACCESS_TOKEN");
  EXPECT_EQ(secret_env_name("aws-creds.v2"), "MODELCACHE_SECRET_AWS_CREDS_V2");
}

TEST(Secrets, OrderIsModelcacheEnvThenTrussEnvThenFile) {
  mctest::TempDir dir;
  SecretEnv env{"MODELCACHE_SECRET_MY_TOKEN", "TRUSS_SECRET_my-token", "MODELCACHE_SECRETS_DIR"};
  setenv("MODELCACHE_SECRETS_DIR", dir.path().c_str(), 1);
  write(dir / "my-token", "from-file\n");
  EXPECT_EQ(resolve_secret("my-token").value(), "from-file");
  setenv("TRUSS_SECRET_my-token", "from-truss", 1);
  EXPECT_EQ(resolve_secret("my-token").value(), "from-truss");
  setenv("MODELCACHE_SECRET_MY_TOKEN", "from-modelcache\n", 1);
  EXPECT_EQ(resolve_secret("my-token").value(), "from-modelcache");
}

TEST(Secrets, FileTrimsOneTrailingNewlineOnly) {
  mctest::TempDir dir;
  SecretEnv env{"MODELCACHE_SECRET_JSON", "TRUSS_SECRET_json", "MODELCACHE_SECRETS_DIR"};
  setenv("MODELCACHE_SECRETS_DIR", dir.path().c_str(), 1);
  write(dir / "json", "{\"a\": 1}\n  \r\n");
  EXPECT_EQ(resolve_secret("json").value(), "{\"a\": 1}\n  ");
  write(dir / "json", "  spaced value \n");
  EXPECT_EQ(resolve_secret("json").value(), "  spaced value ");
}

TEST(Secrets, MissingNamesEveryPlaceAndNoValue) {
  mctest::TempDir dir;
  SecretEnv env{"MODELCACHE_SECRET_ABSENT", "TRUSS_SECRET_absent", "MODELCACHE_SECRETS_DIR"};
  setenv("MODELCACHE_SECRETS_DIR", dir.path().c_str(), 1);
  auto r = resolve_secret("absent");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("MODELCACHE_SECRET_ABSENT"), std::string::npos);
  EXPECT_NE(r.error().message.find("TRUSS_SECRET_absent"), std::string::npos);
  EXPECT_NE(r.error().message.find((dir / "absent").string()), std::string::npos);
}

TEST(Secrets, DefaultDirIsSlashSecrets) {
  SecretEnv env{"MODELCACHE_SECRETS_DIR"};
  EXPECT_EQ(secrets_dir(), std::filesystem::path("/secrets"));
}

TEST(Secrets, EmptyValueIsAnErrorWithoutTheValue) {
  mctest::TempDir dir;
  SecretEnv env{"MODELCACHE_SECRET_E", "TRUSS_SECRET_e", "MODELCACHE_SECRETS_DIR"};
  setenv("MODELCACHE_SECRETS_DIR", dir.path().c_str(), 1);
  write(dir / "e", "\n");
  auto r = resolve_secret("e");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("empty"), std::string::npos);
}

TEST(Secrets, ErrorsNeverContainTheValue) {
  mctest::TempDir dir;
  SecretEnv env{"MODELCACHE_SECRET_D", "TRUSS_SECRET_d", "MODELCACHE_SECRETS_DIR"};
  setenv("MODELCACHE_SECRETS_DIR", dir.path().c_str(), 1);
  std::filesystem::create_directory(dir / "d");  // a directory, not a file
  auto r = resolve_secret("d");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos);
  write(dir / "ok", kValue);
  ASSERT_TRUE(resolve_secret("ok"));
  auto bad = resolve_secret("../ok");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find(kValue), std::string::npos);
}

TEST(Secrets, NamesThatCouldEscapeTheDirectoryAreRefused) {
  for (const char* name : {"", "a/b", "..", "../etc/passwd", "a..b", ".", "x\ny"}) {
    auto r = validate_secret_name(name);
    EXPECT_FALSE(r) << name;
  }
  EXPECT_TRUE(validate_secret_name("hf_access_token"));
  EXPECT_TRUE(validate_secret_name(".hidden-ok"));
  EXPECT_FALSE(validate_secret_name(std::string(256, 'a')));
}
