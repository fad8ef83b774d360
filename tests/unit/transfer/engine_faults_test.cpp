// Each fault of tests/fixtures/fault_origin.py: the engine ends with the right
// file (its sha256 checked) or a clear error, never a wrong file.
#include <gtest/gtest.h>

#include "engine_fixture.hpp"

namespace mctest {
namespace {

using modelcache::ErrorCode;

using EngineFaults = EngineTest;

TEST_F(EngineFaults, ResetMidBodyResumesFromWhatArrived) {
  settings_.min_segment_bytes = 4 << 20;  // one stream, and no steals from it
  make_file("reset.bin", 1'500'000);
  auto r = request("reset.bin", "reset/", "n=2&after=600000");
  auto res = fetch_one(r);
  expect_fetched(res, r, "reset.bin");
  auto log = requests_for("reset.bin");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_TRUE(log[0]["range"].is_null());
  // The retries ask only for the rest.
  auto second = requested_range(log[1], 1'500'000);
  ASSERT_TRUE(second);
  EXPECT_GT(second->begin, 0u);
  auto third = requested_range(log[2], 1'500'000);
  ASSERT_TRUE(third);
  EXPECT_GT(third->begin, second->begin);
  EXPECT_EQ(third->end, 1'500'000u);
  EXPECT_EQ(res->bytes_downloaded, 1'500'000u);
}

TEST_F(EngineFaults, ResetOfRangedSegmentsIsRetried) {
  make_file("reset_ranged.bin", 6 << 20);
  auto r = request("reset_ranged.bin", "reset/", "n=3");
  auto res = fetch_one(r);
  expect_fetched(res, r, "reset_ranged.bin");
  EXPECT_GE(requests_for("reset_ranged.bin").size(), 7u);
}

TEST_F(EngineFaults, ShortBodyIsRetried) {
  make_file("short.bin", 3 << 20);
  auto r = request("short.bin", "short/", "n=2");
  auto res = fetch_one(r);
  expect_fetched(res, r, "short.bin");
  int faulted = 0;
  for (const auto& e : requests_for("short.bin")) faulted += e["faulted"].get<bool>();
  EXPECT_EQ(faulted, 2);
}

TEST_F(EngineFaults, ServiceUnavailableWaitsForRetryAfter) {
  make_file("busy.bin", 200'000);
  auto r = request("busy.bin", "503/", "n=1&retry_after=1");
  auto start = std::chrono::steady_clock::now();
  auto res = fetch_one(r);
  double took = seconds_since(start);
  expect_fetched(res, r, "busy.bin");
  EXPECT_GE(took, 1.0);
  EXPECT_LT(took, 5.0);
  auto log = requests_for("busy.bin");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["status"], 503);
  EXPECT_EQ(log[1]["status"], 200);
}

TEST_F(EngineFaults, TooManyUnavailableAnswersGiveUp) {
  make_file("down.bin", 1000);
  settings_.max_attempts = 2;
  auto r = request("down.bin", "503/", "n=100&retry_after=0");
  auto res = fetch_one(r);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().message.find("HTTP 503"), std::string::npos) << res.error().message;
  EXPECT_EQ(requests_for("down.bin").size(), 2u);
  EXPECT_FALSE(modelcache::util::exists(r.journal_path) && !modelcache::util::exists(r.part_path));
}

TEST_F(EngineFaults, StallIsAbortedAndRetried) {
  settings_.stall_timeout = std::chrono::seconds(1);
  make_file("stall.bin", 1'000'000);
  auto r = request("stall.bin", "stall/", "sleep=20");
  auto start = std::chrono::steady_clock::now();
  auto res = fetch_one(r);
  double took = seconds_since(start);
  expect_fetched(res, r, "stall.bin");
  EXPECT_GE(took, 1.0);
  EXPECT_LT(took, 6.0);
  auto log = requests_for("stall.bin");
  ASSERT_EQ(log.size(), 2u);
  auto second = requested_range(log[1], 1'000'000);
  ASSERT_TRUE(second);
  EXPECT_GT(second->begin, 0u);  // resumed after the bytes that did arrive
}

TEST_F(EngineFaults, OriginIgnoringRangeYieldsTheRightFile) {
  constexpr std::uint64_t kSize = 8 << 20;
  make_file("norange.bin", kSize);
  auto r = request("norange.bin", "norange/");
  auto res = fetch_one(r);
  expect_fetched(res, r, "norange.bin");
  auto log = requests_for("norange.bin");
  // It tried one range first (a file gets one connection until its origin has
  // answered a ranged request, so not one whole-file answer per connection),
  // then fetched the file as one plain stream.
  int ranged = 0, plain = 0;
  for (const auto& e : log) {
    if (e["range"].is_null()) {
      ++plain;
      EXPECT_EQ(e["bytes_sent"], kSize);
    } else {
      ++ranged;
    }
  }
  EXPECT_EQ(ranged, 1);
  EXPECT_EQ(plain, 1);
}

TEST_F(EngineFaults, FlippedBytesAreAnIntegrityErrorAndLeaveNothing) {
  make_file("wrong.bin", 3 << 20);
  auto r = request("wrong.bin", "wrong/");
  auto res = fetch_one(r);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ErrorCode::kIntegrity);
  const std::string& m = res.error().message;
  EXPECT_EQ(m.rfind("wrong.bin: sha256 mismatch: expected " + sha256_of("wrong.bin") + ", got ", 0),
            0u)
      << m;
  EXPECT_NE(m.find("nothing was stored"), std::string::npos);
  EXPECT_FALSE(modelcache::util::exists(r.part_path));
  EXPECT_FALSE(modelcache::util::exists(r.journal_path));
}

TEST_F(EngineFaults, OriginWithASmallerFileIsASizeMismatch) {
  make_file("trunc.bin", 3 << 20);
  for (std::string q : {"", "after=1000"}) {
    auto r = request("trunc.bin", "truncated/", q);
    auto res = fetch_one(r);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, ErrorCode::kIntegrity);
    EXPECT_NE(res.error().message.find("size mismatch"), std::string::npos) << res.error().message;
    EXPECT_FALSE(modelcache::util::exists(r.part_path));
  }
}

TEST_F(EngineFaults, UnknownSizeWithResetStillEndsRight) {
  make_file("unsized_reset.bin", 2'000'000);
  auto r = request("unsized_reset.bin", "reset/", "n=1");
  r.size = modelcache::transfer::kUnknownSize;
  auto res = fetch_one(r);
  expect_fetched(res, r, "unsized_reset.bin");
}

}  // namespace
}  // namespace mctest
