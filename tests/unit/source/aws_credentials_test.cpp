// The AWS credential chain: secret, environment, profile files, anonymous; the
// region chain; and that a bad secret is reported without its value.
#include "source/aws_credentials.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "temp_dir.hpp"

namespace modelcache::source {
namespace {

class AwsCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Point the files into the temp dir so the real ~/.aws never leaks in.
    vars_["HOME"] = dir_.path().string();
  }

  void write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
  }

  Result<AwsSettings> resolve(std::optional<std::string> secret = std::nullopt) {
    return resolve_aws_settings(secret, [this](const char* name) -> std::optional<std::string> {
      auto it = vars_.find(name);
      if (it == vars_.end() || it->second.empty()) return std::nullopt;
      return it->second;
    });
  }

  mctest::TempDir dir_;
  std::map<std::string, std::string> vars_;
};

TEST_F(AwsCredentialsTest, NothingAnywhereIsAnonymousInUsEast1) {
  auto s = resolve();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_FALSE(s->credentials);
  EXPECT_EQ(s->region, "us-east-1");
}

TEST_F(AwsCredentialsTest, SecretWinsOverEnvironmentAndProfile) {
  vars_["AWS_ACCESS_KEY_ID"] = "ENVID";
  vars_["AWS_SECRET_ACCESS_KEY"] = "ENVKEY";
  vars_["AWS_REGION"] = "us-west-2";
  write(".aws/credentials", "[default]\naws_access_key_id = FILEID\naws_secret_access_key = FILEKEY\n");
  auto s = resolve(R"({"aws_access_key_id":"SECID","aws_secret_access_key":"SECKEY",)"
                   R"("aws_region":"eu-central-1","aws_session_token":"SECTOKEN"})");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(s->credentials);
  EXPECT_EQ(s->credentials->access_key_id, "SECID");
  EXPECT_EQ(s->credentials->secret_access_key, "SECKEY");
  EXPECT_EQ(s->credentials->session_token, "SECTOKEN");
  EXPECT_EQ(s->credentials->origin, "the secret");
  EXPECT_EQ(s->region, "eu-central-1");
  EXPECT_EQ(secret_values(*s), (std::vector<std::string>{"SECKEY", "SECTOKEN"}));
}

TEST_F(AwsCredentialsTest, SecretWithoutRegionTakesTheEnvironmentRegion) {
  vars_["AWS_DEFAULT_REGION"] = "ap-south-1";
  auto s = resolve(R"({"aws_access_key_id":"SECID","aws_secret_access_key":"SECKEY"})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->region, "ap-south-1");
  EXPECT_TRUE(s->credentials->session_token.empty());
}

TEST_F(AwsCredentialsTest, MalformedSecretIsAnErrorThatNeverShowsTheValue) {
  const std::string values[] = {
      "hunter2-NOT-JSON-wJalrXUtnFEMI",
      R"({"aws_access_key_id":"SECID","aws_secret_access_key":)",  // truncated JSON
      R"({"aws_access_key_id":"SECID-wJalrXUtnFEMI"})",           // no secret key
      R"({"aws_access_key_id":"SECID","aws_secret_access_key":"wJalrXUtnFEMI","aws_region":7})",
      R"(["wJalrXUtnFEMI"])",
  };
  for (const auto& value : values) {
    auto s = resolve(value);
    ASSERT_FALSE(s) << value;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.error().message.find("wJalrXUtnFEMI"), std::string::npos) << s.error().message;
    EXPECT_EQ(s.error().message.find("hunter2"), std::string::npos) << s.error().message;
    EXPECT_EQ(s.error().message.find("SECID"), std::string::npos) << s.error().message;
    EXPECT_EQ(s.error().message.find('\n'), std::string::npos);
  }
}

TEST_F(AwsCredentialsTest, EnvironmentKeysAndSessionToken) {
  vars_["AWS_ACCESS_KEY_ID"] = "ENVID";
  vars_["AWS_SECRET_ACCESS_KEY"] = "ENVKEY";
  vars_["AWS_SESSION_TOKEN"] = "ENVTOKEN";
  vars_["AWS_REGION"] = "us-west-2";
  vars_["AWS_DEFAULT_REGION"] = "eu-west-1";  // AWS_REGION wins
  auto s = resolve();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->credentials->access_key_id, "ENVID");
  EXPECT_EQ(s->credentials->session_token, "ENVTOKEN");
  EXPECT_EQ(s->credentials->origin, "AWS_ACCESS_KEY_ID");
  EXPECT_EQ(s->region, "us-west-2");
}

TEST_F(AwsCredentialsTest, HalfAnEnvironmentPairIsAnError) {
  vars_["AWS_ACCESS_KEY_ID"] = "ENVID";
  auto s = resolve();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("AWS_SECRET_ACCESS_KEY is not"), std::string::npos);
}

TEST_F(AwsCredentialsTest, NamedProfileFromFilesNamedByTheEnvironment) {
  write("creds.ini",
        "# comment\n[default]\naws_access_key_id = DEFID\naws_secret_access_key = DEFKEY\n\n"
        "[dev]\r\naws_access_key_id=DEVID\r\naws_secret_access_key = DEVKEY\r\n"
        "aws_session_token = DEVTOKEN\r\n");
  write("config.ini",
        "[default]\nregion = eu-west-1\n[profile dev]\nregion = eu-north-1\n"
        "s3 =\n  region = wrong-nested\n  endpoint_url = http://nested\n"
        "endpoint_url = http://127.0.0.1:9000\n");
  vars_["AWS_SHARED_CREDENTIALS_FILE"] = (dir_ / "creds.ini").string();
  vars_["AWS_CONFIG_FILE"] = (dir_ / "config.ini").string();
  vars_["AWS_PROFILE"] = "dev";
  auto s = resolve();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->credentials->access_key_id, "DEVID");
  EXPECT_EQ(s->credentials->secret_access_key, "DEVKEY");
  EXPECT_EQ(s->credentials->session_token, "DEVTOKEN");
  EXPECT_NE(s->credentials->origin.find("profile 'dev'"), std::string::npos);
  EXPECT_EQ(s->region, "eu-north-1");
  EXPECT_EQ(s->profile_endpoint, "http://127.0.0.1:9000");
}

TEST_F(AwsCredentialsTest, DefaultProfileInHomeFiles) {
  write(".aws/credentials", "[default]\naws_access_key_id = DEFID\naws_secret_access_key = DEFKEY\n");
  write(".aws/config", "[default]\nregion = sa-east-1\n");
  auto s = resolve();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->credentials->access_key_id, "DEFID");
  EXPECT_EQ(s->region, "sa-east-1");
}

TEST_F(AwsCredentialsTest, KeysInTheConfigFileProfile) {
  write(".aws/config", "[profile ci]\naws_access_key_id = CIID\naws_secret_access_key = CIKEY\n");
  vars_["AWS_PROFILE"] = "ci";
  auto s = resolve();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->credentials->access_key_id, "CIID");
}

TEST_F(AwsCredentialsTest, EnvironmentKeysBeatTheProfileButTheProfileStillGivesTheRegion) {
  write(".aws/credentials", "[default]\naws_access_key_id = DEFID\naws_secret_access_key = DEFKEY\n");
  write(".aws/config", "[default]\nregion = ca-central-1\n");
  vars_["AWS_ACCESS_KEY_ID"] = "ENVID";
  vars_["AWS_SECRET_ACCESS_KEY"] = "ENVKEY";
  auto s = resolve();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->credentials->access_key_id, "ENVID");
  EXPECT_EQ(s->region, "ca-central-1");
}

TEST_F(AwsCredentialsTest, MissingNamedProfileIsAnError) {
  write(".aws/credentials", "[default]\naws_access_key_id = DEFID\naws_secret_access_key = DEFKEY\n");
  vars_["AWS_PROFILE"] = "nope";
  auto s = resolve();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("AWS profile 'nope'"), std::string::npos) << s.error().message;
}

TEST_F(AwsCredentialsTest, RoleProfilesAreRefusedWithAWayOut) {
  write(".aws/config", "[profile role]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n");
  vars_["AWS_PROFILE"] = "role";
  auto s = resolve();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("role_arn"), std::string::npos);
  EXPECT_NE(s.error().message.find("export-credentials"), std::string::npos);
}

TEST_F(AwsCredentialsTest, IniParsing) {
  auto ini = parse_aws_ini("key = outside\n[a]\nx = 1\n  nested = 2\n; c\n[ b ]\nY = two words \n[bad\nz=3\n");
  EXPECT_EQ(ini.size(), 2u);
  EXPECT_EQ(ini["a"]["x"], "1");
  EXPECT_FALSE(ini["a"].contains("nested"));
  EXPECT_EQ(ini["b"]["y"], "two words");
}

}  // namespace
}  // namespace modelcache::source
