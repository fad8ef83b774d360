#include "deploy/truss_config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

using namespace modelcache;
using namespace modelcache::deploy;

namespace {
const std::filesystem::path kFixtures = MC_FIXTURES_DIR;

Error parse_error(std::string_view yaml) {
  auto r = parse_truss_config(yaml, "config.yaml");
  EXPECT_FALSE(r) << yaml;
  return r ? Error{} : r.error();
}
}  // namespace

TEST(TrussConfig, SdxlExampleHasThreeHubEntriesWithPatterns) {
  auto config = load_truss_config(kFixtures / "truss/sdxl/config.yaml");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->entries.size(), 3u);
  const Entry& base = config->entries[1];
  EXPECT_EQ(base.section, Section::kModelCache);
  EXPECT_EQ(base.index, 1u);
  EXPECT_EQ(base.ref, "hf://stabilityai/stable-diffusion-xl-base-1.0");
  EXPECT_EQ(base.revision, "main");
  EXPECT_EQ(base.allow, (std::vector<std::string>{"*.json", "*.fp16.safetensors", "sd_xl_base_1.0.safetensors"}));
  EXPECT_TRUE(base.ignore.empty());
  EXPECT_EQ(base.label(), "model_cache[1] stabilityai/stable-diffusion-xl-base-1.0");
  EXPECT_EQ(base.source_as_written(), "stabilityai/stable-diffusion-xl-base-1.0@main");
  EXPECT_EQ(base.mount_path("/app/model_cache").value(),
            std::filesystem::path("/app/model_cache/stable-diffusion-xl-base-1.0"));
  // Truss's default runtime_secret_name, used only if it exists.
  EXPECT_EQ(base.secret_name, "hf_access_token");
  EXPECT_TRUE(base.secret_optional);
  EXPECT_EQ(config->entries[2].ignore, (std::vector<std::string>{"*.onnx"}));
  EXPECT_GT(base.line, config->entries[0].line);
}

TEST(TrussConfig, WeightsSectionWithEveryOrigin) {
  auto config = load_truss_config(kFixtures / "truss/weights/config.yaml");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->entries.size(), 5u);
  const Entry& hf = config->entries[0];
  EXPECT_EQ(hf.section, Section::kWeights);
  EXPECT_EQ(hf.ref, "hf://meta-llama/Llama-3.1-8B-Instruct@main");
  EXPECT_EQ(hf.mount_path("/ignored").value(), std::filesystem::path("/models/llama"));
  EXPECT_EQ(hf.secret_name, "hf_access_token");
  EXPECT_FALSE(hf.secret_optional);
  EXPECT_EQ(hf.ignore, (std::vector<std::string>{"original/*"}));
  EXPECT_EQ(config->entries[1].ref, "s3://my-bucket/models/adapter");
  EXPECT_EQ(config->entries[2].ref, "gs://my-gcs-bucket/checkpoints/v3");
  EXPECT_EQ(config->entries[3].ref, "azure://myaccount/weights/encoder");
  EXPECT_EQ(config->entries[3].secret_name, "azure_storage");
  // A signed URL's query never shows in labels or lock sources.
  const Entry& https = config->entries[4];
  EXPECT_EQ(https.label().find("SECRET_SIGNATURE"), std::string::npos);
  EXPECT_EQ(https.source_as_written().find("SECRET_SIGNATURE"), std::string::npos);
  EXPECT_NE(https.ref.find("SECRET_SIGNATURE"), std::string::npos);  // still fetched with it
}

TEST(TrussConfig, BucketKindsAndVolumes) {
  auto config = parse_truss_config(R"(
model_cache:
  - repo_id: s3://bucket/prefix
    kind: s3
    runtime_secret_name: aws
    volume_folder: s3model
  - repo_id: gs://b/p
    kind: gcs
    revision: ignored-for-buckets
    use_volume: false
    volume_folder: unused
  - repo_id: azure://acct/container/p
    kind: azure
  - repo_id: org/cached-only
)");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->entries.size(), 4u);
  EXPECT_EQ(config->entries[0].ref, "s3://bucket/prefix");
  EXPECT_EQ(config->entries[0].secret_name, "aws");
  EXPECT_EQ(config->entries[0].mount_path("/root").value(), std::filesystem::path("/root/s3model"));
  EXPECT_EQ(config->entries[1].revision, "");
  EXPECT_FALSE(config->entries[1].mount_path("/root"));
  EXPECT_FALSE(config->entries[2].mount_path("/root"));
  EXPECT_TRUE(config->entries[2].secret_name.empty());
  EXPECT_FALSE(config->entries[3].mount_path("/root"));
}

TEST(TrussConfig, MalformedEntriesNameTheEntryAndLine) {
  Error e = parse_error("model_name: x\nmodel_cache:\n  - repo_id: a/b\n  - revision: main\n");
  EXPECT_EQ(e.message, "config.yaml:4: model_cache[1]: 'repo_id' is required");
  e = parse_error("model_cache:\n  - repo_id: a/b\n    kind: ftp\n");
  EXPECT_NE(e.message.find("config.yaml:3: model_cache[0] a/b: unknown kind 'ftp'"), std::string::npos)
      << e.message;
  e = parse_error("model_cache:\n  - repo_id: gs://b/p\n    kind: s3\n");
  EXPECT_NE(e.message.find("model_cache[0] gs://b/p: kind s3 needs repo_id"), std::string::npos) << e.message;
  e = parse_error("model_cache:\n  - repo_id: a/b\n    volume_folder: ../escape\n");
  EXPECT_NE(e.message.find("config.yaml:3: model_cache[0] a/b: volume_folder"), std::string::npos) << e.message;
  e = parse_error("model_cache:\n  - repo_id: a/b\n    use_volume: true\n");
  EXPECT_NE(e.message.find("needs a volume_folder"), std::string::npos) << e.message;
  e = parse_error("model_cache:\n  - repo_id: a/b\n    allow_patterns: {x: 1}\n");
  EXPECT_NE(e.message.find("config.yaml:3: model_cache[0] a/b: 'allow_patterns' must be a list"),
            std::string::npos) << e.message;
  e = parse_error("weights:\n  - source: hf://a/b\n    mount_location: relative/dir\n");
  EXPECT_NE(e.message.find("config.yaml:3: weights[0] hf://a/b: mount_location must be an absolute"),
            std::string::npos) << e.message;
  e = parse_error("weights:\n  - source: hf://a/b\n    mount_location: /a/../etc\n");
  EXPECT_NE(e.message.find("weights[0] hf://a/b: mount_location"), std::string::npos) << e.message;
  e = parse_error("weights:\n  - source: ftp://x/y\n    mount_location: /m\n");
  EXPECT_NE(e.message.find("config.yaml:2: weights[0] ftp://x/y:"), std::string::npos) << e.message;
  e = parse_error("weights:\n  - mount_location: /m\n");
  EXPECT_NE(e.message.find("weights[0]: 'source' is required"), std::string::npos) << e.message;
  e = parse_error("model_cache: {repo_id: a/b}\n");
  EXPECT_NE(e.message.find("'model_cache' must be a list"), std::string::npos) << e.message;
  e = parse_error("model_cache:\n  - repo_id: [a\n");
  EXPECT_NE(e.message.find("config.yaml:"), std::string::npos);
  EXPECT_NE(e.message.find("not valid YAML"), std::string::npos) << e.message;
  for (const auto& err : {e}) EXPECT_EQ(err.message.find('\n'), std::string::npos);
}

TEST(TrussConfig, NothingToFetchIsAnError) {
  Error e = parse_error("model_name: plain\nresources: {cpu: 1}\n");
  EXPECT_NE(e.message.find("no model_cache: or weights: entries"), std::string::npos);
  parse_error("");
  parse_error("- a\n- b\n");
}

TEST(TrussConfig, MountRootFlagThenEnvThenDefault) {
  const char* old = getenv("MODELCACHE_MOUNT_ROOT");
  std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  unsetenv("MODELCACHE_MOUNT_ROOT");
  EXPECT_EQ(resolve_mount_root(""), std::filesystem::path("/app/model_cache"));
  setenv("MODELCACHE_MOUNT_ROOT", "/env/root", 1);
  EXPECT_EQ(resolve_mount_root(""), std::filesystem::path("/env/root"));
  EXPECT_EQ(resolve_mount_root("/flag"), std::filesystem::path("/flag"));
  EXPECT_EQ(resolve_mount_root("rel/dir"), std::filesystem::current_path() / "rel/dir");
  if (saved) setenv("MODELCACHE_MOUNT_ROOT", saved->c_str(), 1);
  else unsetenv("MODELCACHE_MOUNT_ROOT");
}

TEST(TrussConfig, BadSignedUrlNeverShowsItsQuery) {
  auto c = parse_truss_config(R"(weights:
  - source: "https:///files/x.bin?sig=TOPSECRETSIG"
    mount_location: /models/x
)",
                              "config.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("weights[0]"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("config.yaml:2"), std::string::npos) << c.error().message;
  EXPECT_EQ(c.error().message.find("TOPSECRETSIG"), std::string::npos) << c.error().message;
}
