#include "transfer/hash_follower.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "temp_dir.hpp"
#include "transfer/hash_worker.hpp"
#include "util/fs.hpp"
#include "util/hasher.hpp"

namespace modelcache::transfer {
namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string digest(util::HashAlgo algo, std::string_view prefix, std::string_view data) {
  util::Hasher h(algo);
  h.update(prefix);
  h.update(data);
  return h.finish_hex();
}

std::string git_blob_id(const std::string& data) {
  std::string header = "blob " + std::to_string(data.size());
  header.push_back('\0');
  return digest(util::HashAlgo::kSha1, header, data);
}

struct Piece {
  std::uint64_t begin, end;
};

// Writes `data` in pieces in a shuffled order, reporting each one, and lets the
// follower catch up after each: it must only ever hash the contiguous prefix.
Result<FileDigests> follow_shuffled(const std::filesystem::path& path, const std::string& data,
                                    const std::optional<core::Digest>& expected,
                                    std::uint64_t declared_size, unsigned seed) {
  util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644));
  auto follower = HashFollower::create(fd.get(), path, expected, declared_size);
  if (!follower) return std::unexpected(follower.error());
  std::vector<Piece> pieces;
  std::mt19937 rng(seed);
  for (std::uint64_t at = 0; at < data.size();) {
    std::uint64_t len = std::min<std::uint64_t>(data.size() - at, 1 + rng() % 300000);
    pieces.push_back({at, at + len});
    at += len;
  }
  std::shuffle(pieces.begin(), pieces.end(), rng);
  std::vector<char> buf(64 * 1024);
  for (const Piece& p : pieces) {
    if (!util::pwrite_all(fd.get(), data.data() + p.begin, p.end - p.begin, p.begin, path)) {
      return fail(ErrorCode::kIo, "pwrite");
    }
    (*follower)->written({p.begin, p.end});
    while ((*follower)->catch_up(buf)) {
    }
    EXPECT_FALSE((*follower)->finished());
  }
  EXPECT_EQ((*follower)->hashed(), data.size());
  (*follower)->seal(data.size());
  while ((*follower)->catch_up(buf)) {
  }
  EXPECT_TRUE((*follower)->finished());
  return (*follower)->outcome();
}

TEST(HashFollower, HashesOutOfOrderWritesAsTheWholeFile) {
  mctest::TempDir dir;
  const std::string data = random_bytes(3'000'000, 1);
  auto got = follow_shuffled(dir / "part", data, std::nullopt, data.size(), 7);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->sha256, util::sha256_hex(data));
  EXPECT_FALSE(got->origin_algo);
}

TEST(HashFollower, ComputesTheOriginsAlgorithmToo) {
  mctest::TempDir dir;
  const std::string data = random_bytes(1'000'000, 2);
  auto git = follow_shuffled(dir / "a", data, core::Digest{core::DigestAlgo::kGitSha1, "x"},
                             data.size(), 3);
  ASSERT_TRUE(git);
  EXPECT_EQ(git->sha256, util::sha256_hex(data));
  ASSERT_TRUE(git->origin_algo);
  EXPECT_EQ(git->origin_algo->hex, git_blob_id(data));

  auto md5 =
      follow_shuffled(dir / "b", data, core::Digest{core::DigestAlgo::kMd5, "x"}, data.size(), 4);
  ASSERT_TRUE(md5);
  EXPECT_EQ(md5->origin_algo->hex, digest(util::HashAlgo::kMd5, "", data));

  auto crc = follow_shuffled(dir / "c", data, core::Digest{core::DigestAlgo::kCrc32c, "x"},
                             data.size(), 5);
  ASSERT_TRUE(crc);
  std::uint32_t v = util::crc32c_portable(0, data.data(), data.size());
  EXPECT_EQ(crc->origin_algo->hex, fmt::format("{:08x}", v));
  auto mismatch = check_digests("c", core::Digest{core::DigestAlgo::kCrc32c, "00000000"}, *crc);
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("crc32c mismatch"), std::string::npos);
}

TEST(HashFollower, GitBlobIdOfAFileOfUnknownSizeStartsOnceTheSizeIsKnown) {
  mctest::TempDir dir;
  const std::string data = random_bytes(2'500'000, 5);
  auto got = follow_shuffled(dir / "a", data, core::Digest{core::DigestAlgo::kGitSha1, "x"},
                             kUnknownSize, 6);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->sha256, util::sha256_hex(data));
  EXPECT_EQ(got->origin_algo->hex, git_blob_id(data));
}

TEST(HashFollower, EmptyFile) {
  mctest::TempDir dir;
  auto got = follow_shuffled(dir / "a", "", core::Digest{core::DigestAlgo::kGitSha1, "x"}, 0, 1);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->sha256, util::sha256_hex(""));
  EXPECT_EQ(got->origin_algo->hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

TEST(HashFollower, AFileShorterThanReportedIsAnError) {
  mctest::TempDir dir;
  const auto path = dir / "a";
  util::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644));
  auto f = HashFollower::create(fd.get(), path, std::nullopt, 100);
  ASSERT_TRUE(f);
  (*f)->written({0, 100});  // but nothing was written
  std::vector<char> buf(4096);
  while ((*f)->catch_up(buf)) {
  }
  ASSERT_TRUE((*f)->finished());
  ASSERT_FALSE((*f)->outcome());
  EXPECT_EQ((*f)->outcome().error().code, ErrorCode::kIo);
}

TEST(HashWorker, FollowsSeveralFilesOnItsThread) {
  mctest::TempDir dir;
  std::atomic<int> events{0};
  HashWorker worker([&] { ++events; });
  std::vector<std::string> datas;
  std::vector<util::UniqueFd> fds;
  std::vector<std::shared_ptr<HashFollower>> followers;
  for (int i = 0; i < 3; ++i) {
    auto path = dir / ("f" + std::to_string(i));
    datas.push_back(random_bytes(1'500'000 + i, 10 + i));
    fds.emplace_back(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644));
    auto f = HashFollower::create(fds.back().get(), path, std::nullopt, datas.back().size());
    ASSERT_TRUE(f);
    followers.push_back(*f);
    worker.follow(*f);
  }
  // Write back to front in 100 kB pieces, so most of each file arrives out of order.
  for (int i = 0; i < 3; ++i) {
    const std::string& d = datas[i];
    for (std::uint64_t end = d.size(); end > 0;) {
      std::uint64_t begin = end > 100000 ? end - 100000 : 0;
      ASSERT_TRUE(util::pwrite_all(fds[i].get(), d.data() + begin, end - begin, begin, "f"));
      followers[i]->written({begin, end});
      worker.notify();
      end = begin;
    }
    followers[i]->seal(d.size());
    worker.notify();
  }
  for (int spins = 0; spins < 500; ++spins) {
    if (std::all_of(followers.begin(), followers.end(), [](auto& f) { return f->finished(); }))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(followers[i]->finished());
    ASSERT_TRUE(followers[i]->outcome());
    EXPECT_EQ(followers[i]->outcome()->sha256, util::sha256_hex(datas[i]));
  }
  EXPECT_GE(events.load(), 3);
}

TEST(CheckDigests, NamesTheLabelAndBothValues) {
  FileDigests got{std::string(64, 'b'), std::nullopt};
  auto st = check_digests("dir/model.bin",
                          core::Digest{core::DigestAlgo::kSha256, std::string(64, 'a')}, got);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kIntegrity);
  EXPECT_EQ(st.error().message, "dir/model.bin: sha256 mismatch: expected " + std::string(64, 'a') +
                                    ", got " + std::string(64, 'b') + "; nothing was stored");
  EXPECT_TRUE(
      check_digests("x", core::Digest{core::DigestAlgo::kSha256, std::string(64, 'b')}, got));
  EXPECT_TRUE(check_digests("x", std::nullopt, got));
  got.origin_algo = core::Digest{core::DigestAlgo::kMd5, std::string(32, 'c')};
  EXPECT_TRUE(check_digests("x", core::Digest{core::DigestAlgo::kMd5, std::string(32, 'c')}, got));
  auto md5 = check_digests("x", core::Digest{core::DigestAlgo::kMd5, std::string(32, 'd')}, got);
  ASSERT_FALSE(md5);
  EXPECT_NE(md5.error().message.find("md5 mismatch"), std::string::npos);
}

}  // namespace
}  // namespace modelcache::transfer
