// Resume: the journal lets a later fetch() take only what is missing, also after
// kill -9, and a resume that turns out wrong is refetched from scratch once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_fixture.hpp"
#include "transfer/journal.hpp"
#include "transfer/range_set.hpp"
#include "util/hasher.hpp"

namespace mctest {
namespace {

using modelcache::transfer::ByteRange;
using modelcache::transfer::RangeSet;

using EngineResume = EngineTest;

// The journal header the engine writes for `r` (see file_job.cpp): size plus a
// fingerprint of the expected digest.
modelcache::transfer::JournalHeader header_for(const FetchRequest& r) {
  return {r.size, modelcache::util::sha256_hex(r.expected->to_string()).substr(0, 16)};
}

// A part file holding `data` only in `have` (zeros elsewhere), and its journal.
void prepare_resume(const FetchRequest& r, const std::string& data, const RangeSet& have) {
  std::string part(data.size(), '\0');
  for (const ByteRange& b : have.ranges()) {
    std::copy(data.begin() + b.begin, data.begin() + b.end, part.begin() + b.begin);
  }
  std::ofstream(r.part_path, std::ios::binary | std::ios::trunc) << part;
  auto j = modelcache::transfer::Journal::create(r.journal_path, header_for(r), have);
  ASSERT_TRUE(j) << j.error().message;
}

TEST_F(EngineResume, FetchesOnlyTheMissingRanges) {
  constexpr std::uint64_t kSize = 16 << 20;
  const std::string& data = make_file("resume.bin", kSize);
  auto r = request("resume.bin");
  RangeSet have;
  have.add({0, 4 << 20});
  have.add({8 << 20, 12 << 20});
  prepare_resume(r, data, have);

  auto res = fetch_one(r);
  expect_fetched(res, r, "resume.bin");
  EXPECT_EQ(res->bytes_downloaded, 8u << 20);
  std::uint64_t asked = 0;
  for (const auto& e : requests_for("resume.bin")) {
    auto rr = requested_range(e, kSize);
    ASSERT_TRUE(rr) << "a resume must not ask for the whole file: " << e.dump();
    // Nothing already on disk is requested.
    EXPECT_FALSE(have.covers({rr->begin, rr->begin + 1})) << e.dump();
    asked += rr->end - rr->begin;
  }
  // Trimmed (stolen-from) requests overlap their thieves; at most one piece each.
  EXPECT_LE(asked, (8u << 20) + 4 * (4u << 20));
}

TEST_F(EngineResume, WrongTrustedBytesAreRefetchedFromScratchOnce) {
  constexpr std::uint64_t kSize = 4 << 20;
  std::string data = make_file("badresume.bin", kSize);
  auto r = request("badresume.bin");
  RangeSet have;
  have.add({0, 1 << 20});
  data[1000] ^= 0x55;  // what the part file holds is not what the origin has
  prepare_resume(r, data, have);
  auto res = fetch_one(r);
  expect_fetched(res, r, "badresume.bin");
  EXPECT_EQ(res->bytes_downloaded, kSize - (1u << 20) + kSize);
  bool refetched_start = false;
  for (const auto& e : requests_for("badresume.bin")) {
    auto rr = requested_range(e, kSize);
    refetched_start |= !rr || rr->begin == 0;
  }
  EXPECT_TRUE(refetched_start);
}

TEST_F(EngineResume, MismatchedJournalOrMissingPartStartsFresh) {
  constexpr std::uint64_t kSize = 3 << 20;
  const std::string& data = make_file("fresh.bin", kSize);
  auto r = request("fresh.bin");
  RangeSet have;
  have.add({0, 2 << 20});
  // Journal without part file.
  prepare_resume(r, data, have);
  ASSERT_EQ(::unlink(r.part_path.c_str()), 0);
  auto res = fetch_one(r);
  expect_fetched(res, r, "fresh.bin");
  EXPECT_EQ(res->bytes_downloaded, kSize);
  // Part file without journal.
  origin_->reset();
  prepare_resume(r, data, have);
  ASSERT_EQ(::unlink(r.journal_path.c_str()), 0);
  res = fetch_one(r);
  expect_fetched(res, r, "fresh.bin");
  EXPECT_EQ(res->bytes_downloaded, kSize);
}

TEST_F(EngineResume, KillDashNineLosesAtMostAFewMiBPerConnection) {
  constexpr std::uint64_t kSize = 32 << 20;
  make_file("killed.bin", kSize);
  // 4 connections at 4 MiB/s each: after ~1.5 s about 24 MiB are in.
  auto slow = request("killed.bin", "slow/", "rate=4194304");
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    modelcache::transfer::Engine engine(settings_);
    engine.fetch({slow});
    ::_exit(0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child finished before it was killed";
  std::uint64_t sent_before = 0;
  for (const auto& e : requests_for("killed.bin"))
    sent_before += e["bytes_sent"].get<std::uint64_t>();
  ASSERT_GT(sent_before, 4u << 20);
  ASSERT_TRUE(modelcache::util::exists(slow.journal_path));

  origin_->reset();
  auto r = request("killed.bin");  // same file and digest, plain URL
  auto res = fetch_one(r);
  expect_fetched(res, r, "killed.bin");
  // Lost = bytes the killed run received that this run fetched again: at most one
  // journal interval (4 MiB) per connection, plus what sat in socket buffers.
  std::uint64_t resumed = kSize - res->bytes_downloaded;
  EXPECT_GT(resumed, 0u);
  EXPECT_GE(resumed + 4 * (4u << 20) + (4u << 20), sent_before)
      << "sent before kill " << sent_before << ", resumed " << resumed;
}

}  // namespace
}  // namespace mctest
