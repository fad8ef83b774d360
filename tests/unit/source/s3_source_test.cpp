// The pure parts of the S3 origin: ListObjectsV2 pages, ETags as MD5, the
// error vocabulary of S3, and how buckets and keys become URLs.
#include "source/s3_source.hpp"

#include <gtest/gtest.h>

namespace modelcache::source {
namespace {

constexpr const char* kListObjectsPage = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bkt</Name><Prefix>m/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>m/</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>
    <ETag>"d41d8cd98f00b204e9800998ecf8427e"</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>m/a b+c@d/&#233;.txt</Key><LastModified>2024-01-02T00:00:00.000Z</LastModified>
    <ETag>&quot;5D41402ABC4B2A76B9719D911017C592&quot;</ETag><Size>5</Size></Contents>
  <Contents><Key>m/big.bin</Key><LastModified>2024-01-03T00:00:00.000Z</LastModified>
    <ETag>"9b2cf535f27731c974343645a3985328-3"</ETag><Size>20971520</Size></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";

TEST(S3Listing, ParsesObjectsEtagsAndTheContinuationToken) {
  auto page = parse_list_objects_v2(kListObjectsPage);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  ASSERT_EQ(page->objects.size(), 3u);
  EXPECT_EQ(page->objects[0].key, "m/");
  EXPECT_EQ(page->objects[1].key, "m/a b+c@d/\xc3\xa9.txt");
  EXPECT_EQ(page->objects[1].size, 5u);
  EXPECT_EQ(page->objects[1].etag, "5D41402ABC4B2A76B9719D911017C592");
  EXPECT_EQ(page->objects[1].last_modified, "2024-01-02T00:00:00.000Z");
  EXPECT_EQ(page->objects[2].size, 20971520u);
  EXPECT_EQ(page->objects[2].etag, "9b2cf535f27731c974343645a3985328-3");
}

TEST(S3Listing, LastPageAndEmptyPage) {
  auto page = parse_list_objects_v2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_FALSE(page->truncated);
  EXPECT_TRUE(page->objects.empty());
  EXPECT_TRUE(page->next_token.empty());
}

TEST(S3Listing, RejectsWhatIsNotAListing) {
  EXPECT_FALSE(parse_list_objects_v2("<html>proxy login</html>"));
  EXPECT_FALSE(parse_list_objects_v2("not xml at all <"));
  auto bad = parse_list_objects_v2(
      "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kProtocol);
}

TEST(S3Listing, SinglePartEtagIsMd5AndMultipartIsNot) {
  auto md5 = etag_md5("\"5D41402ABC4B2A76B9719D911017C592\"");
  ASSERT_TRUE(md5);
  EXPECT_EQ(md5->algo, core::DigestAlgo::kMd5);
  EXPECT_EQ(md5->hex, "5d41402abc4b2a76b9719d911017c592");
  EXPECT_FALSE(etag_md5("9b2cf535f27731c974343645a3985328-3"));
  EXPECT_FALSE(etag_md5(""));
  EXPECT_FALSE(etag_md5("W/\"abc\""));
}

std::string error_xml(const char* code, const char* extra = "") {
  return std::string("<?xml version=\"1.0\"?><Error><Code>") + code +
         "</Code><Message>server text</Message>" + extra + "<RequestId>1</RequestId></Error>";
}

S3ErrorContext context(bool signed_request = true) {
  return {"s3://bkt/models/x", "bkt", signed_request ? "AWS_ACCESS_KEY_ID" : "", "us-east-1", std::nullopt};
}

TEST(S3Errors, WrongKeysSayCheckTheKey) {
  for (const char* code : {"InvalidAccessKeyId", "SignatureDoesNotMatch"}) {
    Error e = s3_error(403, error_xml(code), context());
    EXPECT_EQ(e.code, ErrorCode::kUnauthorized) << code;
    EXPECT_TRUE(e.message.starts_with("s3://bkt/models/x: ")) << e.message;
    EXPECT_NE(e.message.find(code), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("check the key"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("from AWS_ACCESS_KEY_ID"), std::string::npos) << e.message;
  }
}

TEST(S3Errors, ExpiredTokenSaysGetFreshCredentials) {
  Error e = s3_error(400, error_xml("ExpiredToken"), context());
  EXPECT_EQ(e.code, ErrorCode::kUnauthorized);
  EXPECT_NE(e.message.find("ExpiredToken"), std::string::npos);
  EXPECT_NE(e.message.find("fresh credentials"), std::string::npos);
}

TEST(S3Errors, AccessDeniedDependsOnWhetherCredentialsWereSent) {
  Error with = s3_error(403, error_xml("AccessDenied"), context(true));
  EXPECT_EQ(with.code, ErrorCode::kForbidden);
  EXPECT_NE(with.message.find("s3:ListBucket on bucket bkt"), std::string::npos) << with.message;
  Error without = s3_error(403, error_xml("AccessDenied"), context(false));
  EXPECT_EQ(without.code, ErrorCode::kUnauthorized);
  EXPECT_NE(without.message.find("no AWS credentials were found"), std::string::npos);
  Error bare = s3_error(403, "", context(false));  // a HEAD-like answer without a body
  EXPECT_NE(bare.message.find("HTTP 403"), std::string::npos);
}

TEST(S3Errors, MissingBucket) {
  Error e = s3_error(404, error_xml("NoSuchBucket", "<BucketName>bkt</BucketName>"), context());
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_NE(e.message.find("bucket bkt does not exist (NoSuchBucket)"), std::string::npos) << e.message;
}

TEST(S3Errors, WrongRegionNamesTheRightOne) {
  Error e = s3_error(400, error_xml("AuthorizationHeaderMalformed", "<Region>eu-west-1</Region>"),
                     context());
  EXPECT_NE(e.message.find("set AWS_REGION=eu-west-1"), std::string::npos) << e.message;
  auto ctx = context();
  ctx.bucket_region = "ap-northeast-1";
  Error moved = s3_error(301, error_xml("PermanentRedirect"), ctx);
  EXPECT_NE(moved.message.find("set AWS_REGION=ap-northeast-1"), std::string::npos) << moved.message;
}

TEST(S3Errors, UnknownCodesKeepStatusAdviceAndTheCodeOnOneLine) {
  Error e = s3_error(503, error_xml("SlowDown"), context());
  EXPECT_EQ(e.code, ErrorCode::kNetwork);
  EXPECT_NE(e.message.find("(SlowDown: server text)"), std::string::npos) << e.message;
  Error odd = s3_error(400, "<Error><Code>Weird\nCode</Code><Message>a\r\nb</Message></Error>", context());
  EXPECT_EQ(odd.message.find('\n'), std::string::npos) << odd.message;
}

TEST(S3Addressing, PathStyleForCustomEndpoints) {
  S3Addressing a{"http://127.0.0.1:9000", "us-east-1"};
  EXPECT_EQ(a.bucket_url("bkt"), "http://127.0.0.1:9000/bkt");
  EXPECT_EQ(a.object_url("bkt", "m/a b+c@d/\xc3\xa9.txt"),
            "http://127.0.0.1:9000/bkt/m/a%20b%2Bc%40d/%C3%A9.txt");
  EXPECT_EQ(a.list_url("bkt", "m/a b/", "", 1000),
            "http://127.0.0.1:9000/bkt?list-type=2&max-keys=1000&prefix=m%2Fa%20b%2F");
  EXPECT_EQ(a.list_url("bkt", "", "t/+=", 2),
            "http://127.0.0.1:9000/bkt?continuation-token=t%2F%2B%3D&list-type=2&max-keys=2");
}

TEST(S3Addressing, VirtualHostedOnAws) {
  S3Addressing a{"", "eu-west-1"};
  EXPECT_EQ(a.object_url("bkt", "k/x.bin"), "https://bkt.s3.eu-west-1.amazonaws.com/k/x.bin");
  EXPECT_EQ(a.list_url("bkt", "k/", "", 5),
            "https://bkt.s3.eu-west-1.amazonaws.com/?list-type=2&max-keys=5&prefix=k%2F");
  // Dotted bucket names would not match the wildcard certificate: path style.
  EXPECT_EQ(a.object_url("my.bkt", "x"), "https://s3.eu-west-1.amazonaws.com/my.bkt/x");
  EXPECT_EQ(a.list_url("my.bkt", "", "", 5),
            "https://s3.eu-west-1.amazonaws.com/my.bkt?list-type=2&max-keys=5");
}

// The library path with a secret (ListOptions::secret): a bad one fails before
// any request, a good one is used, and neither shows up in the error.
TEST(S3Source, SecretFromListOptionsNeverAppearsInErrors) {
  core::Config config;
  config.s3_endpoint = "http://127.0.0.1:1";  // nothing listens: no request can succeed
  config.transfer.max_attempts = 1;
  config.transfer.backoff_base = std::chrono::milliseconds(0);
  S3Source source(config, [](const char*) -> std::optional<std::string> { return std::nullopt; });
  auto ref = core::parse_ref("s3://bkt/models/x");
  ASSERT_TRUE(ref);

  ListOptions bad;
  bad.secret = "not-json-S3CR3TVALUE";
  auto listing = source.list(*ref, bad);
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(listing.error().message.starts_with("s3://bkt/models/x: the secret is not AWS"))
      << listing.error().message;
  EXPECT_EQ(listing.error().message.find("S3CR3TVALUE"), std::string::npos);

  ListOptions good;
  good.secret = R"({"aws_access_key_id":"AKIDSECRETTEST","aws_secret_access_key":"S3CR3TVALUE/+x"})";
  listing = source.list(*ref, good);
  ASSERT_FALSE(listing);
  EXPECT_TRUE(listing.error().code == ErrorCode::kNetwork || listing.error().code == ErrorCode::kTimeout)
      << listing.error().message;
  EXPECT_NE(listing.error().message.find("cannot reach http://127.0.0.1:1/bkt"), std::string::npos)
      << listing.error().message;
  EXPECT_EQ(listing.error().message.find("S3CR3TVALUE"), std::string::npos);
}

}  // namespace
}  // namespace modelcache::source
