// The HTTP(S) single-file origin against the Hub fixture's file routes, which
// behave like any static origin (HEAD, Range, ETag, redirects).
#include "source/http_source.hpp"

#include <gtest/gtest.h>

#include "core/model_ref.hpp"
#include "hub_fixture.hpp"

namespace modelcache::source {
namespace {

using mctest::HubFixture;

Result<Listing> list_url(const HubFixture& hub, const std::string& url) {
  auto ref = core::parse_ref(url);
  EXPECT_TRUE(ref) << url;
  HttpSource source(hub.config());
  // A Hub token must never be sent to a plain HTTP origin.
  return source.list(*ref, ListOptions{std::string("tok")});
}

class HttpSourceTest : public mctest::HubSuite<HttpSourceTest> {
 public:
  static std::vector<std::string> fixture_args() {
    return {"--token", "tok", "--gated", "org/gated"};
  }

 protected:
  static Result<Listing> list(const std::string& url) { return list_url(*hub_, url); }
  static std::string lfs_url(const std::string& content) {
    return "http://127.0.0.1:" + hub_->lfs_port() + "/lfs/" + util::sha256_hex(content);
  }
};

TEST_F(HttpSourceTest, HeadGivesSizeEtagAndADerivedSnapshotId) {
  std::string content = mctest::pattern_bytes(4096);
  std::string url = lfs_url(content) + "?sig=abc";
  auto listing = list(url);
  ASSERT_TRUE(listing) << listing.error().message;
  ASSERT_EQ(listing->files.size(), 1u);
  const RemoteFile& f = listing->files[0];
  EXPECT_EQ(f.path, util::sha256_hex(content));  // last segment, query dropped
  EXPECT_EQ(f.size, 4096u);
  EXPECT_EQ(f.etag, "\"" + util::sha256_hex(content) + "\"");
  EXPECT_EQ(f.url, url);
  EXPECT_TRUE(f.headers.empty());
  EXPECT_EQ(listing->revision, "");
  EXPECT_EQ(
      listing->snapshot_id,
      util::sha256_hex(url + "\n" + f.etag + "\n" + f.last_modified + "\n4096").substr(0, 40));
  auto log = hub_->log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].method, "HEAD");
  EXPECT_FALSE(log[0].had_authorization);
}

TEST_F(HttpSourceTest, SnapshotIdIsStableAcrossListings) {
  std::string url = lfs_url(mctest::pattern_bytes(4096));
  auto a = list(url);
  auto b = list(url);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->snapshot_id, b->snapshot_id);
  auto other = list(lfs_url(mctest::pattern_bytes(2048)));
  ASSERT_TRUE(other);
  EXPECT_NE(other->snapshot_id, a->snapshot_id);
}

TEST_F(HttpSourceTest, NameIsPercentDecoded) {
  EXPECT_EQ(url_file_name("https://h/a/my%20file.bin?x=1#f"), "my file.bin");
  EXPECT_EQ(url_file_name("https://h/model.safetensors"), "model.safetensors");
  EXPECT_EQ(url_file_name("https://h/dir/"), "");
  EXPECT_EQ(url_file_name("https://h"), "");
  EXPECT_EQ(url_file_name("https://h?x=/y"), "");
}

TEST_F(HttpSourceTest, UrlWithoutFileNameIsInvalid) {
  auto listing = list(hub_->url() + "/dir/");
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kInvalidRef);
}

TEST_F(HttpSourceTest, MissingFileIsNotFound) {
  auto listing = list(lfs_url("nothing like this"));
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(listing.error().message.find("/lfs/"), std::string::npos);
}

TEST_F(HttpSourceTest, UnauthorizedAndForbiddenAreMapped) {
  auto unauthorized = list(hub_->url() + "/org/model/resolve/main/config.json");
  ASSERT_FALSE(unauthorized);
  EXPECT_EQ(unauthorized.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(unauthorized.error().message.find("tok"), std::string::npos);
  auto forbidden = list(hub_->url() + "/org/gated/resolve/main/g.txt");
  ASSERT_FALSE(forbidden);
  EXPECT_EQ(forbidden.error().code, ErrorCode::kForbidden);
}

TEST_F(HttpSourceTest, QueryStringNeverAppearsInErrors) {
  auto listing = list(lfs_url("nothing") + "?X-Amz-Signature=s3cr3t");
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().message.find("s3cr3t"), std::string::npos) << listing.error().message;
}

// Origins that refuse HEAD: a one-byte ranged GET learns the total from Content-Range.
class HttpSourceNoHeadTest : public mctest::HubSuite<HttpSourceNoHeadTest> {
 public:
  static std::vector<std::string> fixture_args() { return {"--refuse-head"}; }

 protected:
  static Result<Listing> list(const std::string& url) { return list_url(*hub_, url); }
};

TEST_F(HttpSourceNoHeadTest, FallsBackToARangedGet) {
  std::string content = mctest::pattern_bytes(4096);
  auto listing = list(hub_->url() + "/org/model/resolve/main/weights.bin");
  ASSERT_TRUE(listing) << listing.error().message;
  ASSERT_EQ(listing->files.size(), 1u);
  EXPECT_EQ(listing->files[0].path, "weights.bin");
  EXPECT_EQ(listing->files[0].size, 4096u);
  EXPECT_EQ(listing->files[0].etag, "\"" + util::sha256_hex(content) + "\"");
  auto log = hub_->log();
  // HEAD: hub 302 then lfs 405; GET: hub 302 then lfs 206 of one byte.
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[1].status, 405);
  EXPECT_EQ(log[3].method, "GET");
  EXPECT_EQ(log[3].range, "bytes=0-0");
  EXPECT_EQ(log[3].status, 206);
}

TEST_F(HttpSourceNoHeadTest, FallbackNameIsPercentDecoded) {
  auto listing = list(hub_->url() + "/org/model/resolve/main/my%20file.txt");
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_EQ(listing->files[0].path, "my file.txt");
  EXPECT_EQ(listing->files[0].size, 7u);
}

}  // namespace
}  // namespace modelcache::source
