#include "util/strings.hpp"

#include <gtest/gtest.h>

using namespace modelcache::util;

TEST(Strings, UrlEncodeRoundTrip) {
  EXPECT_EQ(url_encode("refs/pr/1"), "refs%2Fpr%2F1");
  EXPECT_EQ(url_encode("a b/c", "/"), "a%20b/c");
  EXPECT_EQ(url_decode("refs%2Fpr%2F1"), "refs/pr/1");
  EXPECT_EQ(url_decode("100%"), "100%");
}

TEST(Strings, ParseSize) {
  EXPECT_EQ(parse_size("1024"), 1024u);
  EXPECT_EQ(parse_size("1MiB"), 1048576u);
  EXPECT_EQ(parse_size("2G"), 2000000000u);
  EXPECT_EQ(parse_size("1.5KiB"), 1536u);
  EXPECT_FALSE(parse_size("lots"));
  EXPECT_FALSE(parse_size("12 parsecs"));
}

TEST(Strings, PrintableEscapesControlBytesAndCaps) {
  EXPECT_EQ(printable("plain name"), "plain name");
  EXPECT_EQ(printable("a\nb\x7f"), "a\\x0ab\\x7f");
  EXPECT_EQ(printable(std::string(10, 'x'), 4), "xxxx...");
}

TEST(Strings, ParseU64TakesDigitsOnly) {
  EXPECT_EQ(parse_u64("0"), 0u);
  EXPECT_EQ(parse_u64("18446744073709551615"), 18446744073709551615u);
  EXPECT_FALSE(parse_u64("18446744073709551616"));  // overflow
  EXPECT_FALSE(parse_u64(""));
  EXPECT_FALSE(parse_u64("-1"));
  EXPECT_FALSE(parse_u64("+1"));
  EXPECT_FALSE(parse_u64(" 1"));
  EXPECT_FALSE(parse_u64("1 "));
  EXPECT_FALSE(parse_u64("0x10"));
}
