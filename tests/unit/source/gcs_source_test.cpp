// The GCS origin: JSON listing parsing, and listings against the JSON-API
// fixture (pagination, prefixes, digests, generations, errors).
#include "source/gcs_source.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <thread>

#include "core/model_ref.hpp"
#include "gcs_test_fixture.hpp"
#include "source/gcs_auth.hpp"
#include "util/hasher.hpp"

namespace modelcache::source {
namespace {

using mctest::GcsFixture;

TEST(GcsListPage, ParsesObjectsDigestsAndTheNextPageToken) {
  // md5("abc") = 900150983cd24fb0d6963f7d28e17f72; crc32c("123456789") = e3069283.
  auto page = parse_gcs_list_page(R"({
    "kind": "storage#objects", "nextPageToken": "CgVhL2IvYw==",
    "items": [
      {"name": "a/b.bin", "size": "3", "generation": "1700000000123456",
       "md5Hash": "kAFQmDzST7DWlj99KOF/cg==", "crc32c": "4waSgw==", "etag": "CLjB"},
      {"name": "a/composite.bin", "size": "9", "generation": "7", "crc32c": "4waSgw==",
       "updated": "2024-01-01T00:00:00.000Z"},
      {"name": "a/nodigest", "size": 0, "generation": 1}
    ]})",
                                  "gs://b/a");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->next_page_token, "CgVhL2IvYw==");
  ASSERT_EQ(page->objects.size(), 3u);
  const auto& md5 = page->objects[0];
  EXPECT_EQ(md5.name, "a/b.bin");
  EXPECT_EQ(md5.size, 3u);
  EXPECT_EQ(md5.generation, "1700000000123456");
  EXPECT_EQ(md5.digest, (core::Digest{core::DigestAlgo::kMd5, "900150983cd24fb0d6963f7d28e17f72"}));
  EXPECT_EQ(md5.etag, "CLjB");
  EXPECT_EQ(page->objects[1].digest, (core::Digest{core::DigestAlgo::kCrc32c, "e3069283"}));
  EXPECT_EQ(page->objects[1].updated, "2024-01-01T00:00:00.000Z");
  EXPECT_FALSE(page->objects[2].digest);
  EXPECT_EQ(page->objects[2].generation, "1");

  auto last = parse_gcs_list_page(R"({"kind": "storage#objects"})", "gs://b");
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->objects.empty());
  EXPECT_TRUE(last->next_page_token.empty());
}

TEST(GcsListPage, MalformedListingsAreProtocolErrors) {
  for (
      const char* body :
      {"not json", "[]", R"({"items": {}})", R"({"items": [{"size": "1", "generation": "1"}]})",
       R"({"items": [{"name": "x", "size": "-1", "generation": "1"}]})",
       R"({"items": [{"name": "x", "size": "1"}]})",
       R"({"items": [{"name": "x", "size": "1", "generation": "1", "md5Hash": "abc"}]})",
       R"({"items": [{"name": "x", "size": "1", "generation": "1", "crc32c": "kAFQmDzST7DWlj99KOF/cg=="}]})"}) {
    auto page = parse_gcs_list_page(body, "gs://b/p");
    ASSERT_FALSE(page) << body;
    EXPECT_EQ(page.error().code, ErrorCode::kProtocol) << body;
    EXPECT_NE(page.error().message.find("gs://b/p"), std::string::npos);
  }
}

TEST(GcsMediaUrl, EncodesBucketAndNameAndPinsTheGeneration) {
  EXPECT_EQ(gcs_media_url("https://storage.googleapis.com", "bkt", "dir/my file+1.bin", "42"),
            "https://storage.googleapis.com/storage/v1/b/bkt/o/dir%2Fmy%20file%2B1.bin"
            "?alt=media&generation=42");
}

std::string content(std::size_t n, int seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + seed * 7) % 251);
  return s;
}

std::string md5_hex(const std::string& s) {
  util::Hasher h(util::HashAlgo::kMd5);
  h.update(s);
  return h.finish_hex();
}

class GcsSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    ::unsetenv("GOOGLE_OAUTH_ACCESS_TOKEN");
    fixture_ = new GcsFixture({"--require-auth", "--folder-markers", "--composite",
                               "models/llm/composite.bin", "--static-token", "static-tok"},
                              [](const std::filesystem::path& root) {
                                for (const auto& [path, data] : files())
                                  mctest::write_text(root / path, data);
                                std::filesystem::create_directories(root / "empty");
                              });
  }
  static void TearDownTestSuite() {
    delete fixture_;
    fixture_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(fixture_->ok()) << fixture_->error();
    clear_gcs_token_cache();
    fixture_->clear_log();
  }

  static std::map<std::string, std::string> files() {
    return {{"models/llm/config.json", "{}"},
            {"models/llm/weights/part-1.bin", content(5000, 1)},
            {"models/llm/weights/part-2.bin", content(7000, 2)},
            {"models/llm/composite.bin", content(3000, 3)},
            {"models/llm-other/x.bin", "other"},
            {"models/single.bin", content(100, 4)}};
  }

  static Result<Listing> list(const std::string& ref_text, std::optional<std::string> secret,
                              int page_size = 1000) {
    auto ref = core::parse_ref(ref_text);
    EXPECT_TRUE(ref) << ref_text;
    auto config = fixture_->config();
    config.list_page_size = page_size;
    GcsSource source(config);
    return source.list(*ref, ListOptions{std::nullopt, std::move(secret)});
  }

  static inline GcsFixture* fixture_ = nullptr;
};

TEST_F(GcsSourceTest, ListsAFolderAcrossPagesWithDigestsAndPinnedGenerations) {
  int tokens_before = fixture_->token_requests();
  auto listing = list("gs://models/llm", fixture_->account_json(), 2);
  ASSERT_TRUE(listing) << listing.error().message;
  std::map<std::string, const RemoteFile*> by_path;
  for (const auto& f : listing->files) by_path[f.path] = &f;
  // Folder markers ("models/llm/weights/") are skipped; "llm-other" is not under llm/.
  ASSERT_EQ(by_path.size(), 4u);
  const RemoteFile& part = *by_path.at("weights/part-1.bin");
  EXPECT_EQ(part.size, 5000u);
  EXPECT_EQ(part.digest, (core::Digest{core::DigestAlgo::kMd5, md5_hex(content(5000, 1))}));
  EXPECT_TRUE(part.url.starts_with(fixture_->url() +
                                   "/storage/v1/b/models/o/llm%2Fweights%2Fpart-1.bin?alt=media"
                                   "&generation="))
      << part.url;
  EXPECT_EQ(part.url.substr(part.url.rfind('=') + 1), part.etag);  // generation
  ASSERT_EQ(part.headers.size(), 1u);
  EXPECT_TRUE(part.headers[0].starts_with("Authorization: Bearer ya29.fixture-"));
  // Each request of the download asks the token cache: same token, no new exchange.
  ASSERT_TRUE(part.sign);
  EXPECT_EQ(part.sign(), part.headers);

  std::string composite = content(3000, 3);
  EXPECT_EQ(
      by_path.at("composite.bin")->digest,
      (core::Digest{core::DigestAlgo::kCrc32c,
                    fmt::format("{:08x}", util::crc32c(0, composite.data(), composite.size()))}));
  EXPECT_EQ(fixture_->token_requests(), tokens_before + 1);

  // maxResults=2 over 6 entries (2 markers + 4 objects): 3 pages, each authorized.
  int pages = 0;
  for (const auto& e : fixture_->log()) {
    std::string path = e["path"];
    if (path.starts_with("/storage/v1/b/models/o?")) {
      ++pages;
      EXPECT_NE(path.find("prefix=llm%2F"), std::string::npos) << path;
      EXPECT_NE(path.find("maxResults=2"), std::string::npos) << path;
      EXPECT_TRUE(e["had_authorization"].get<bool>());
    }
  }
  EXPECT_EQ(pages, 3);

  // The same listing again: same snapshot id; the token comes from the cache.
  int tokens = fixture_->token_requests();
  auto again = list("gs://models/llm/", fixture_->account_json(), 1000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->snapshot_id, listing->snapshot_id);
  EXPECT_EQ(fixture_->token_requests(), tokens);
}

TEST_F(GcsSourceTest, AChangedObjectChangesTheSnapshot) {
  auto before = list("gs://models/llm-other", std::string("static-tok"));
  ASSERT_TRUE(before) << before.error().message;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  mctest::write_text(fixture_->root() / "models/llm-other/x.bin", "other");  // new generation
  auto after = list("gs://models/llm-other", std::string("static-tok"));
  ASSERT_TRUE(after);
  EXPECT_NE(after->snapshot_id, before->snapshot_id);
  EXPECT_NE(after->files[0].etag, before->files[0].etag);
}

TEST_F(GcsSourceTest, APrefixNamingOneObjectListsThatObject) {
  auto listing = list("gs://models/single.bin", std::string("static-tok"));
  ASSERT_TRUE(listing) << listing.error().message;
  ASSERT_EQ(listing->files.size(), 1u);
  EXPECT_EQ(listing->files[0].path, "single.bin");
  EXPECT_EQ(listing->files[0].size, 100u);
  EXPECT_EQ(listing->files[0].headers,
            std::vector<std::string>{"Authorization: Bearer static-tok"});
  EXPECT_FALSE(listing->files[0].sign);  // a plain token cannot be refreshed
}

TEST_F(GcsSourceTest, TheWholeBucket) {
  auto listing = list("gs://models", std::string("static-tok"));
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_EQ(listing->files.size(), 6u);
}

TEST_F(GcsSourceTest, NothingThereIsAnErrorNamingThePrefix) {
  auto missing = list("gs://models/nope", std::string("static-tok"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kEntryNotFound);
  EXPECT_NE(missing.error().message.find("nope/"), std::string::npos) << missing.error().message;

  auto folder = list("gs://models/nope/", std::string("static-tok"));
  ASSERT_FALSE(folder);
  EXPECT_NE(folder.error().message.find("no object under nope/ in bucket models"),
            std::string::npos)
      << folder.error().message;

  auto empty = list("gs://empty", std::string("static-tok"));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kEntryNotFound);
  EXPECT_NE(empty.error().message.find("no objects"), std::string::npos);
}

TEST_F(GcsSourceTest, AMissingBucketIsNotFound) {
  auto listing = list("gs://no-such-bucket/x", std::string("static-tok"));
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(listing.error().message.find("bucket no-such-bucket not found"), std::string::npos)
      << listing.error().message;
}

TEST_F(GcsSourceTest, AuthErrorsSayWhatToDoAndNeverEchoTheToken) {
  auto anonymous = list("gs://models/llm", std::nullopt);
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().code, ErrorCode::kUnauthorized);
  EXPECT_NE(anonymous.error().message.find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos);

  auto wrong = list("gs://models/llm", std::string("wrong-token-value"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthorized);
  EXPECT_NE(wrong.error().message.find("the access token from the secret"), std::string::npos)
      << wrong.error().message;
  EXPECT_EQ(wrong.error().message.find("wrong-token-value"), std::string::npos);
}

TEST_F(GcsSourceTest, EnvironmentCredentialsAreUsedWithoutASecret) {
  ::setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "static-tok", 1);
  auto listing = list("gs://models/single.bin", std::nullopt);
  ::unsetenv("GOOGLE_OAUTH_ACCESS_TOKEN");
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_EQ(listing->files[0].headers,
            std::vector<std::string>{"Authorization: Bearer static-tok"});
}

}  // namespace
}  // namespace modelcache::source
