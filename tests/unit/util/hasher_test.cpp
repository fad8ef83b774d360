#include "util/hasher.hpp"

#include <gtest/gtest.h>

#include <algorithm>

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
  Hasher g = git_blob_hasher(body.size());
  g.update(body);
  EXPECT_EQ(g.finish_hex(), "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
}

// RFC 3720 B.4 (iSCSI) CRC32C examples, plus the common "123456789" check value.
TEST(Crc32c, Rfc3720Vectors) {
  std::string zeros(32, '\0'), ones(32, '\xff'), up(32, '\0'), down(32, '\0');
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<char>(i);
    down[i] = static_cast<char>(31 - i);
  }
  const unsigned char read_pdu[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  for (auto fn : {&crc32c, &crc32c_portable}) {
    EXPECT_EQ(fn(0, zeros.data(), zeros.size()), 0x8A9136AAu);
    EXPECT_EQ(fn(0, ones.data(), ones.size()), 0x62A8AB43u);
    EXPECT_EQ(fn(0, up.data(), up.size()), 0x46DD794Eu);
    EXPECT_EQ(fn(0, down.data(), down.size()), 0x113FDB5Cu);
    EXPECT_EQ(fn(0, read_pdu, sizeof read_pdu), 0xD9963A56u);
    EXPECT_EQ(fn(0, "123456789", 9), 0xE3069283u);
  }
}

TEST(Crc32c, IncrementalAcrossOddSplitsMatchesPortable) {
  std::string data(100003, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131) ^ (i >> 7));
  std::uint32_t whole = crc32c_portable(0, data.data(), data.size());
  std::uint32_t c = 0;
  for (std::size_t pos = 0, step = 1; pos < data.size(); pos += step, step = step * 3 + 1) {
    std::size_t n = std::min(step, data.size() - pos);
    c = crc32c(c, data.data() + pos, n);
  }
  EXPECT_EQ(c, whole);
}

TEST(Crc32c, HasherGivesBigEndianHexAndResets) {
  Hasher h(HashAlgo::kCrc32c);
  h.update("1234");
  h.update("56789");
  EXPECT_EQ(h.finish_hex(), "e3069283");
  EXPECT_EQ(h.finish_hex(), "00000000");  // CRC32C of nothing
  h.update("123456789");
  EXPECT_EQ(h.finish_hex(), "e3069283");
}
