#include "util/hasher.hpp"

#include <gtest/gtest.h>

using namespace modelcache::util;

TEST(Hasher, KnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Hasher sha1(HashAlgo::kSha1);
  sha1.update("abc");
  EXPECT_EQ(sha1.finish_hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
  Hasher md5(HashAlgo::kMd5);
  md5.update("abc");
  EXPECT_EQ(md5.finish_hex(), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(Hasher, IncrementalEqualsOneShotAndResets) {
  Hasher h(HashAlgo::kSha256);
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.finish_hex(), sha256_hex("abc"));
  h.update("abc");
  EXPECT_EQ(h.finish_hex(), sha256_hex("abc"));
}

TEST(Hasher, GitBlobIdOfHelloWorld) {
  // `printf 'hello world\n' | git hash-object --stdin`
  Hasher h(HashAlgo::kSha1);
  std::string body = "hello world\n";
  std::string header = "blob " + std::to_string(body.size());
  h.update(header.data(), header.size() + 1);  // includes the NUL
  h.update(body);
  EXPECT_EQ(h.finish_hex(), "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
}
