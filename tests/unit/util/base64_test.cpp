#include "util/base64.hpp"

#include <gtest/gtest.h>

#include "util/hasher.hpp"

namespace modelcache::util {
namespace {

TEST(Base64, StrictDecodingAndRoundTrip) {
  EXPECT_EQ(base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64_decode("aGVsbG8h"), "hello!");
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_FALSE(base64_decode("aGVsbG8"));       // length
  EXPECT_FALSE(base64_decode("aGV*bG8h"));      // alphabet
  EXPECT_FALSE(base64_decode("aG=sbG8h"));      // padding in the middle
  EXPECT_FALSE(base64_decode("aGVsbG8hIQ=a"));  // data after padding
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(base64_encode(std::string("\xfb\xff", 2)), "+/8=");
}

TEST(Base64, UrlSafeHasNoPaddingAndNoPlusOrSlash) {
  EXPECT_EQ(base64url_encode(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(base64url_encode("hello"), "aGVsbG8");
  EXPECT_EQ(base64url_encode(""), "");
}

TEST(Base64, UrlSafeRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");  // the URL-safe alphabet
}

TEST(Base64, ToHexChecksTheLength) {
  // md5("") as S3/GCS/Azure send it.
  EXPECT_EQ(base64_to_hex("1B2M2Y8AsgTpgAmY7PhCfg==", 16), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_FALSE(base64_to_hex("1B2M2Y8AsgTpgAmY7PhCfg==", 32));
  EXPECT_FALSE(base64_to_hex("not base64", 16));
}

TEST(Hmac, Rfc4231Case2) {
  EXPECT_EQ(to_hex(reinterpret_cast<const unsigned char*>(
                       hmac_sha256("Jefe", "what do ya want for nothing?").data()),
                   32),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace modelcache::util
