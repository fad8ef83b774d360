// GCS credentials: which source wins, the service-account JWT (format and
// RS256 signature, checked with the public key), and the token exchange with
// its cache against the JSON-API fixture's token endpoint.
#include "source/gcs_auth.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "gcs_test_fixture.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace modelcache::source {
namespace {

using mctest::GcsFixture;

std::string b64url_decode(std::string_view text) {
  std::string std_b64(text);
  for (char& c : std_b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (std_b64.size() % 4) std_b64 += '=';
  std::string out(std_b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(std_b64.data()),
                          static_cast<int>(std_b64.size()));
  std::size_t pad = std_b64.ends_with("==") ? 2 : std_b64.ends_with("=") ? 1 : 0;
  out.resize(static_cast<std::size_t>(std::max(n, 0)) - pad);
  return out;
}

bool verify_rs256(const std::string& public_pem, std::string_view input,
                  std::string_view signature) {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = key && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

TEST(ServiceAccountJwt, HeaderClaimsAndSignatureFollowGooglesFormat) {
  auto key = mctest::generate_rsa_key();
  ASSERT_FALSE(key.private_pem.empty());
  ServiceAccount account{"sa@p.iam.gserviceaccount.com", key.private_pem, "kid-1",
                         "https://oauth2.googleapis.com/token"};
  auto jwt = make_service_account_jwt(account, 1700000000);
  ASSERT_TRUE(jwt) << jwt.error().message;
  auto parts = util::split(*jwt, '.');
  ASSERT_EQ(parts.size(), 3u);
  auto header = nlohmann::json::parse(b64url_decode(parts[0]));
  EXPECT_EQ(header, (nlohmann::json{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "kid-1"}}));
  auto claims = nlohmann::json::parse(b64url_decode(parts[1]));
  EXPECT_EQ(claims,
            (nlohmann::json{{"iss", "sa@p.iam.gserviceaccount.com"},
                            {"scope", "https://www.googleapis.com/auth/devstorage.read_only"},
                            {"aud", "https://oauth2.googleapis.com/token"},
                            {"iat", 1700000000},
                            {"exp", 1700003600}}));
  std::string signature = b64url_decode(parts[2]);
  EXPECT_EQ(signature.size(), 256u);  // RSA-2048
  EXPECT_TRUE(verify_rs256(key.public_pem, parts[0] + "." + parts[1], signature));
  EXPECT_FALSE(verify_rs256(key.public_pem, parts[0] + "." + parts[1] + "x", signature));
  // PKCS#1 v1.5 is deterministic: the same input gives the same token.
  EXPECT_EQ(*make_service_account_jwt(account, 1700000000), *jwt);
}

TEST(ServiceAccountJwt, ABadKeyNamesTheAccountNotTheKey) {
  ServiceAccount account{
      "sa@p.iam.gserviceaccount.com",
      "-----BEGIN PRIVATE KEY-----\nNOTAKEYsecretbits\n-----END PRIVATE KEY-----\n", "",
      "https://oauth2.googleapis.com/token"};
  auto jwt = make_service_account_jwt(account, 1700000000);
  ASSERT_FALSE(jwt);
  EXPECT_NE(jwt.error().message.find("sa@p.iam.gserviceaccount.com"), std::string::npos);
  EXPECT_EQ(jwt.error().message.find("secretbits"), std::string::npos);
}

TEST(GcsCredentials, SecretWinsThenKeyFileThenTokenThenNone) {
  mctest::TempDir dir;
  auto key = mctest::generate_rsa_key();
  std::string sa = mctest::service_account_json("a@p.iam.gserviceaccount.com", key.private_pem,
                                                "http://127.0.0.1:1/token");
  mctest::write_text(dir / "key.json", mctest::service_account_json(
                                           "file@p.iam.gserviceaccount.com", key.private_pem, ""));
  GcsCredentialEnv env{(dir / "key.json").string(), "env-token"};

  auto from_secret = resolve_gcs_credentials(sa, env);
  ASSERT_TRUE(from_secret) << from_secret.error().message;
  EXPECT_EQ(from_secret->kind, GcsAuthKind::kServiceAccount);
  EXPECT_EQ(from_secret->account.client_email, "a@p.iam.gserviceaccount.com");
  EXPECT_EQ(from_secret->account.token_uri, "http://127.0.0.1:1/token");
  EXPECT_EQ(from_secret->account.private_key_id, "0123456789abcdef");

  auto token_secret = resolve_gcs_credentials(std::string(" ya29.secret\n"), env);
  ASSERT_TRUE(token_secret);
  EXPECT_EQ(token_secret->kind, GcsAuthKind::kAccessToken);
  EXPECT_EQ(token_secret->access_token, "ya29.secret");

  auto from_file = resolve_gcs_credentials(std::nullopt, env);
  ASSERT_TRUE(from_file) << from_file.error().message;
  EXPECT_EQ(from_file->kind, GcsAuthKind::kServiceAccount);
  EXPECT_EQ(from_file->account.client_email, "file@p.iam.gserviceaccount.com");
  EXPECT_EQ(from_file->account.token_uri, "https://oauth2.googleapis.com/token");  // default

  auto from_token = resolve_gcs_credentials(std::nullopt, {std::nullopt, "env-token"});
  ASSERT_TRUE(from_token);
  EXPECT_EQ(from_token->kind, GcsAuthKind::kAccessToken);
  EXPECT_EQ(from_token->access_token, "env-token");
  EXPECT_EQ(from_token->origin, "GOOGLE_OAUTH_ACCESS_TOKEN");

  auto none = resolve_gcs_credentials(std::nullopt, {});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->kind, GcsAuthKind::kNone);
}

TEST(GcsCredentials, BadInputsAreOneLineErrorsWithoutTheirContent) {
  auto missing = resolve_gcs_credentials(std::nullopt, {"/nonexistent/key.json", std::nullopt});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("GOOGLE_APPLICATION_CREDENTIALS (/nonexistent/key.json)"),
            std::string::npos);

  auto user = resolve_gcs_credentials(
      std::string(R"({"type": "authorized_user", "refresh_token": "rt-secret"})"), {});
  ASSERT_FALSE(user);
  EXPECT_NE(user.error().message.find("authorized_user"), std::string::npos);
  EXPECT_EQ(user.error().message.find("rt-secret"), std::string::npos);

  auto no_key = resolve_gcs_credentials(
      std::string(R"({"type": "service_account", "client_email": "x@y"})"), {});
  ASSERT_FALSE(no_key);
  EXPECT_NE(no_key.error().message.find("private_key"), std::string::npos);

  auto broken = resolve_gcs_credentials(std::string("{\"private_key\": \"pk-secret"), {});
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().message.find("pk-secret"), std::string::npos);

  auto spaced = resolve_gcs_credentials(std::string("two words-secret"), {});
  ASSERT_FALSE(spaced);
  EXPECT_EQ(spaced.error().message.find("words-secret"), std::string::npos);
  for (const auto* e : {&missing, &user, &no_key, &broken, &spaced}) {
    EXPECT_EQ(e->error().message.find('\n'), std::string::npos);
  }
}

class GcsTokenExchange : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fixture_ = new GcsFixture(
        {}, [](const std::filesystem::path& root) { mctest::write_text(root / "b/x.txt", "x"); });
  }
  static void TearDownTestSuite() {
    delete fixture_;
    fixture_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(fixture_->ok()) << fixture_->error();
    clear_gcs_token_cache();
  }
  static ServiceAccount account() {
    return *parse_service_account(fixture_->account_json(), "test");
  }
  static inline GcsFixture* fixture_ = nullptr;
};

TEST_F(GcsTokenExchange, OneExchangeThenTheCachedToken) {
  int before = fixture_->token_requests();
  auto first = service_account_token(account(), fixture_->config().transfer);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->starts_with("ya29.fixture-"));
  auto second = service_account_token(account(), fixture_->config().transfer);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(fixture_->token_requests(), before + 1);

  // Another token endpoint is another cache entry.
  ServiceAccount elsewhere = account();
  elsewhere.token_uri = fixture_->url() + "/token?x=1";
  auto other = service_account_token(elsewhere, fixture_->config().transfer);
  ASSERT_FALSE(other);  // the fixture checks aud == its /token URL
  EXPECT_EQ(fixture_->token_requests(), before + 2);

  clear_gcs_token_cache();
  auto third = service_account_token(account(), fixture_->config().transfer);
  ASSERT_TRUE(third);
  EXPECT_NE(*third, *first);
  EXPECT_EQ(fixture_->token_requests(), before + 3);
}

TEST_F(GcsTokenExchange, AKeyTheEndpointRejectsNamesTheAccountOnly) {
  ServiceAccount wrong = account();
  wrong.private_key = mctest::generate_rsa_key().private_pem;
  auto token = service_account_token(wrong, fixture_->config().transfer);
  ASSERT_FALSE(token);
  const std::string& m = token.error().message;
  EXPECT_EQ(token.error().code, ErrorCode::kUnauthorized);
  EXPECT_NE(m.find(GcsFixture::kEmail), std::string::npos) << m;
  EXPECT_NE(m.find("invalid_grant"), std::string::npos) << m;
  EXPECT_NE(m.find("Invalid JWT Signature"), std::string::npos) << m;
  EXPECT_EQ(m.find("PRIVATE KEY"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;

  ServiceAccount unknown = account();
  unknown.client_email = "nobody@fixture-project.iam.gserviceaccount.com";
  auto u = service_account_token(unknown, fixture_->config().transfer);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message.find("nobody@fixture-project"), std::string::npos);
}

TEST(GcsTokenExpiry, ATokenCloseToItsExpiryIsExchangedAgain) {
  // Tokens that live 30 s are inside the 60 s margin at once: never reused.
  GcsFixture fixture({"--token-lifetime", "30"}, [](const std::filesystem::path& root) {
    mctest::write_text(root / "b/x.txt", "x");
  });
  ASSERT_TRUE(fixture.ok()) << fixture.error();
  clear_gcs_token_cache();
  auto account = *parse_service_account(fixture.account_json(), "test");
  auto first = service_account_token(account, fixture.config().transfer);
  auto second = service_account_token(account, fixture.config().transfer);
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);
  EXPECT_EQ(fixture.token_requests(), 2);
  clear_gcs_token_cache();
}

}  // namespace
}  // namespace modelcache::source
