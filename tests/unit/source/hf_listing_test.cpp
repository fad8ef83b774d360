#include "source/hf_listing.hpp"

#include <gtest/gtest.h>

#include <string>

namespace modelcache::source {
namespace {

const std::string kSha256(64, 'a');
const std::string kSha1(40, 'b');

TEST(HfListingTest, RevisionShaIsRequiredAndLowerCased) {
  auto ok = parse_revision_sha(R"({"sha": ")" + std::string(40, 'C') + R"(", "id": "o/n"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, std::string(40, 'c'));
  for (const std::string& body : std::vector<std::string>{
           "", "not json", "[]", R"({"id": "o/n"})", R"({"sha": 5})", R"({"sha": "abc"})",
           R"({"sha": ")" + std::string(40, 'z') + "\"}"}) {
    auto bad = parse_revision_sha(body);
    ASSERT_FALSE(bad) << body;
    EXPECT_EQ(bad.error().code, ErrorCode::kProtocol);
  }
}

TEST(HfListingTest, TreePageSkipsDirectoriesAndReadsDigests) {
  std::string body = R"([
    {"type": "directory", "oid": ")" +
                     kSha1 + R"(", "size": 0, "path": "sub"},
    {"type": "file", "oid": ")" +
                     kSha1 + R"(", "size": 12, "path": "sub/a.json"},
    {"type": "file", "oid": ")" +
                     std::string(40, 'e') + R"(", "size": 7, "path": "w.bin",
     "lfs": {"oid": ")" +
                     kSha256 + R"(", "size": 1234567890123, "pointerSize": 134}},
    {"type": "file", "path": "nosize"}
  ])";
  auto files = parse_tree_page(body);
  ASSERT_TRUE(files) << files.error().message;
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].path, "sub/a.json");
  EXPECT_EQ((*files)[0].size, 12u);
  EXPECT_EQ((*files)[0].digest, (core::Digest{core::DigestAlgo::kGitSha1, kSha1}));
  EXPECT_EQ((*files)[1].size, 1234567890123u);  // the LFS size, not the pointer's
  EXPECT_EQ((*files)[1].digest, (core::Digest{core::DigestAlgo::kSha256, kSha256}));
  EXPECT_EQ((*files)[1].etag, kSha256);
  EXPECT_EQ((*files)[2].size, kUnknownSize);
  EXPECT_FALSE((*files)[2].digest);
}

TEST(HfListingTest, HostileNamesArePassedThroughUntouched) {
  auto files = parse_tree_page(R"([{"type": "file", "path": "../x"},
      {"type": "file", "path": "a\u0000b"}, {"type": "file", "path": "a\\b"}])");
  ASSERT_TRUE(files) << files.error().message;
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].path, "../x");
  EXPECT_EQ((*files)[1].path, std::string("a\0b", 3));
  EXPECT_EQ((*files)[2].path, "a\\b");
}

TEST(HfListingTest, MalformedTreePagesAreProtocolErrors) {
  for (const std::string& body : std::vector<std::string>{
           R"({"type": "file"})", R"([1])", R"([{"path": "x"}])", R"([{"type": "file"}])",
           R"([{"type": "file", "path": 3}])", R"([{"type": "file", "path": "x", "size": -1}])",
           R"([{"type": "file", "path": "x", "size": "12"}])",
           R"([{"type": "file", "path": "x", "oid": "xyz"}])",
           R"([{"type": "file", "path": "x", "lfs": {"size": 3}}])",
           R"([{"type": "file", "path": "x", "lfs": {"oid": "abc", "size": 3}}])", "[", ""}) {
    auto files = parse_tree_page(body);
    ASSERT_FALSE(files) << body;
    EXPECT_EQ(files.error().code, ErrorCode::kProtocol) << body;
  }
}

TEST(HfListingTest, SiblingsWithAndWithoutBlobs) {
  std::string body = R"({"sha": ")" + kSha1 + R"(", "siblings": [
    {"rfilename": "config.json"},
    {"rfilename": "a.txt", "size": 3, "blobId": ")" +
                     kSha1 + R"("},
    {"rfilename": "w.bin", "size": 9, "blobId": ")" +
                     kSha1 + R"(",
     "lfs": {"sha256": ")" +
                     kSha256 + R"(", "size": 9, "pointerSize": 130}}]})";
  auto files = parse_siblings(body);
  ASSERT_TRUE(files) << files.error().message;
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].size, kUnknownSize);
  EXPECT_FALSE((*files)[0].digest);
  EXPECT_EQ((*files)[1].digest, (core::Digest{core::DigestAlgo::kGitSha1, kSha1}));
  EXPECT_EQ((*files)[2].digest, (core::Digest{core::DigestAlgo::kSha256, kSha256}));
  EXPECT_FALSE(parse_siblings(R"({"sha": "x"})"));
  EXPECT_FALSE(parse_siblings(R"({"siblings": [{"name": "x"}]})"));
}

}  // namespace
}  // namespace modelcache::source
