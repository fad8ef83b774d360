#include "source/link_header.hpp"

#include <gtest/gtest.h>

namespace modelcache::source {
namespace {

TEST(LinkHeaderTest, FindsTheNextLinkAmongOthers) {
  EXPECT_EQ(next_link(R"(<https://h/api/x?cursor=a>; rel="next")"), "https://h/api/x?cursor=a");
  EXPECT_EQ(next_link(R"(<https://h/p1>; rel="prev", <https://h/p3>; rel=next)"), "https://h/p3");
  EXPECT_EQ(next_link(R"(<https://h/a,b>; title="x, y"; rel="prev", </p?c=1>; REL="last next")"),
            "/p?c=1");
}

TEST(LinkHeaderTest, NoNextLinkIsNullopt) {
  EXPECT_EQ(next_link(""), std::nullopt);
  EXPECT_EQ(next_link(R"(<https://h/p1>; rel="prev")"), std::nullopt);
  EXPECT_EQ(next_link(R"(<https://h/p1; rel="next")"), std::nullopt);  // unterminated
  EXPECT_EQ(next_link(R"(<https://h/p1>; rel="nextpage")"), std::nullopt);
}

TEST(LinkHeaderTest, ResolvesAgainstTheEndpoint) {
  EXPECT_EQ(resolve_url("http://h:1/mirror", "https://o/x?y"), "https://o/x?y");
  EXPECT_EQ(resolve_url("https://h:1/mirror", "//o/x"), "https://o/x");
  EXPECT_EQ(resolve_url("http://h:1/mirror", "/api/m?c=1"), "http://h:1/api/m?c=1");
  EXPECT_EQ(resolve_url("http://h:1", "/api/m?c=http://x"), "http://h:1/api/m?c=http://x");
  EXPECT_EQ(resolve_url("http://h:1/mirror/", "api/m"), "http://h:1/mirror/api/m");
  EXPECT_EQ(resolve_url("http://h:1/mirror", "./api/m"), "http://h:1/mirror/api/m");
}

TEST(LinkHeaderTest, SameOriginComparesSchemeHostAndPort) {
  EXPECT_TRUE(same_origin("https://huggingface.co/api/x", "https://HuggingFace.co:443"));
  EXPECT_TRUE(same_origin("http://127.0.0.1:80/a", "http://127.0.0.1/b"));
  EXPECT_FALSE(same_origin("http://127.0.0.1:8080/a", "http://127.0.0.1:8081/a"));
  EXPECT_FALSE(same_origin("http://localhost:8080/a", "http://127.0.0.1:8080/a"));
  EXPECT_FALSE(same_origin("http://h/a", "https://h/a"));
  EXPECT_FALSE(same_origin("/relative", "/relative"));
}

}  // namespace
}  // namespace modelcache::source
