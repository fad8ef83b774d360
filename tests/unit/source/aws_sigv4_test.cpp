// Signature Version 4 against the published examples of the S3 documentation
// ("Signature Calculations for the Authorization Header: Transferring Payload in
// a Single Chunk": GET Object with Range, GET Bucket Lifecycle, GET Bucket (List
// Objects)), plus two cases the docs do not cover (odd key characters, a
// session token, a continuation token, a host with a port) whose expected
// signatures were computed once with botocore's S3SigV4Auth at the same date.
#include "source/aws_sigv4.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace modelcache::source {
namespace {

const AwsCredentials kDocKeys{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "",
                              "test"};
constexpr const char* kDocDate = "20130524T000000Z";

TEST(AwsSigV4, DocExampleGetObjectWithRange) {
  SigV4Input in{.url = "https://examplebucket.s3.amazonaws.com/test.txt",
                .headers = {{"Range", "bytes=0-9"}},
                .amz_date = kDocDate};
  auto sig = sign_v4(in, kDocKeys, "us-east-1");
  EXPECT_EQ(sig.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sig.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(sig.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(sig.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(AwsSigV4, DocExampleGetBucketLifecycle) {
  SigV4Input in{.url = "https://examplebucket.s3.amazonaws.com/?lifecycle", .amz_date = kDocDate};
  auto sig = sign_v4(in, kDocKeys, "us-east-1");
  EXPECT_NE(sig.canonical_request.find("\n/\nlifecycle=\n"), std::string::npos) << sig.canonical_request;
  EXPECT_EQ(sig.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(AwsSigV4, DocExampleListObjectsSortsTheQuery) {
  // The URL carries the parameters out of order; the canonical query sorts them.
  SigV4Input in{.url = "https://examplebucket.s3.amazonaws.com/?prefix=J&max-keys=2",
                .amz_date = kDocDate};
  auto sig = sign_v4(in, kDocKeys, "us-east-1");
  EXPECT_NE(sig.canonical_request.find("\n/\nmax-keys=2&prefix=J\n"), std::string::npos);
  EXPECT_EQ(sig.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(AwsSigV4, OddKeyAndSessionTokenMatchBotocore) {
  AwsCredentials keys = kDocKeys;
  keys.session_token = "FwoGZXIvYXdzEXAMPLETOKEN+/=";
  std::string url = "https://examplebucket.s3.eu-west-1.amazonaws.com/" +
                    aws_uri_encode("m/a b+c@d/\xc3\xa9.txt", Slash::kKeep);
  EXPECT_EQ(url, "https://examplebucket.s3.eu-west-1.amazonaws.com/m/a%20b%2Bc%40d/%C3%A9.txt");
  auto sig = sign_v4({.url = url, .amz_date = kDocDate}, keys, "eu-west-1");
  EXPECT_EQ(sig.signature, "2be121510e26b10a87dc948399766bd2ed5f4b5aa363e7518ef336d0b4eb7a2e");
  EXPECT_NE(sig.authorization.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                                   "x-amz-security-token,"),
            std::string::npos);
  EXPECT_NE(std::find(sig.headers.begin(), sig.headers.end(),
                      "x-amz-security-token: FwoGZXIvYXdzEXAMPLETOKEN+/="),
            sig.headers.end());
}

TEST(AwsSigV4, PathStyleListWithPortAndContinuationTokenMatchesBotocore) {
  std::string url = "http://127.0.0.1:5123/bkt?continuation-token=" +
                    aws_uri_encode("1/ab+=", Slash::kEncode) +
                    "&list-type=2&max-keys=2&prefix=" + aws_uri_encode("m/a b", Slash::kEncode);
  auto sig = sign_v4({.url = url, .amz_date = kDocDate}, kDocKeys, "us-east-1");
  EXPECT_NE(sig.canonical_request.find("\nhost:127.0.0.1:5123\n"), std::string::npos);
  EXPECT_EQ(sig.signature, "02ef66a8f81706f5c9951262a1b29fb1ea6c6b8527d1648365435b57e4196008");
}

TEST(AwsSigV4, DefaultPortIsLeftOutOfTheHostLikeLibcurlDoes) {
  auto with_port = sign_v4({.url = "https://examplebucket.s3.amazonaws.com:443/test.txt",
                            .headers = {{"Range", "bytes=0-9"}},
                            .amz_date = kDocDate},
                           kDocKeys, "us-east-1");
  EXPECT_EQ(with_port.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(AwsSigV4, UriEncoding) {
  EXPECT_EQ(aws_uri_encode("AZaz09-._~", Slash::kEncode), "AZaz09-._~");
  EXPECT_EQ(aws_uri_encode("a/b c+d=e&f*", Slash::kEncode), "a%2Fb%20c%2Bd%3De%26f%2A");
  EXPECT_EQ(aws_uri_encode("a/b c", Slash::kKeep), "a/b%20c");
  EXPECT_EQ(aws_uri_encode("\xc3\xa9", Slash::kKeep), "%C3%A9");
}

TEST(AwsSigV4, AmzDateIsUtcBasicFormat) {
  using namespace std::chrono;
  EXPECT_EQ(amz_date(system_clock::time_point(seconds(1369353600))), "20130524T000000Z");
  EXPECT_EQ(amz_date(system_clock::time_point(seconds(1369353600 + 3600 * 13 + 61))),
            "20130524T130101Z");
}

TEST(AwsSigV4, SignNowSignsThePayloadHashAndNoRange) {
  auto headers = sign_get_now("http://127.0.0.1:9/b/k", kDocKeys, "us-east-1");
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_TRUE(headers[0].starts_with("x-amz-date: "));
  EXPECT_EQ(headers[1], std::string("x-amz-content-sha256: ") + std::string(kEmptyPayloadSha256));
  EXPECT_TRUE(headers[2].starts_with("Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/"));
  EXPECT_NE(headers[2].find("SignedHeaders=host;x-amz-content-sha256;x-amz-date,"), std::string::npos);
  for (const auto& h : headers) EXPECT_EQ(h.find(kDocKeys.secret_access_key), std::string::npos);
}

}  // namespace
}  // namespace modelcache::source
