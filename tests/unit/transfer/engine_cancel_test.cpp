// FetchHooks: each file is handed over (on_file_done) as soon as it is verified
// and synced, while the others still download; per-file progress; a stop request
// ends the fetch at once and keeps what it downloaded for the next one.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <stop_token>
#include <thread>

#include "engine_fixture.hpp"

namespace mctest {
namespace {

using modelcache::ErrorCode;
using modelcache::transfer::EngineProgress;
using modelcache::transfer::FetchHooks;
using Clock = std::chrono::steady_clock;

using EngineCancel = EngineTest;

// Bytes the origin sent for these requests (fault origin log entries).
std::uint64_t bytes_sent(const std::vector<nlohmann::json>& entries) {
  std::uint64_t n = 0;
  for (const auto& e : entries) n += e["bytes_sent"].get<std::uint64_t>();
  return n;
}

TEST_F(EngineCancel, EachFileIsHandedOverAsSoonAsItIsDone) {
  make_file("small.txt", 1000);
  make_file("paced.bin", 3 << 20);
  auto small = request("small.txt");
  auto paced = request("paced.bin", "slow/", "rate=1048576");  // ~1 s over 4 connections

  struct Done {
    std::size_t index;
    double at;
    bool ok;
    bool other_part_complete;
  };
  std::vector<Done> done;
  const auto t0 = Clock::now();
  FetchHooks hooks;
  hooks.on_file_done = [&](std::size_t i, const modelcache::Result<FetchResult>& r) {
    // The paced file's part file is not complete while the small one is handed over.
    auto other = modelcache::util::file_size(paced.part_path);
    done.push_back({i, seconds_since(t0), r.has_value(),
                    i == 0 && other && read_all(paced.part_path) == files_.at("paced.bin")});
  };
  modelcache::transfer::Engine engine(settings_);
  auto results = engine.fetch({small, paced}, hooks);
  const double total = seconds_since(t0);

  expect_fetched(results[0], small, "small.txt");
  expect_fetched(results[1], paced, "paced.bin");
  ASSERT_EQ(done.size(), 2u) << "on_file_done must run once per request";
  EXPECT_EQ(done[0].index, 0u);
  EXPECT_EQ(done[1].index, 1u);
  EXPECT_TRUE(done[0].ok && done[1].ok);
  EXPECT_FALSE(done[0].other_part_complete);
  // The small file came early, not at the end of the fetch.
  EXPECT_LT(done[0].at, 0.5 * total) << "small at " << done[0].at << " s of " << total << " s";
  EXPECT_GT(total, 0.5);
}

TEST_F(EngineCancel, PerFileProgressRisesToTheSizes) {
  make_file("p1.bin", 2 << 20);
  make_file("p2.bin", 1 << 20);  // one request: bytes are written 512 KiB at a time
  auto a = request("p1.bin", "slow/", "rate=2097152");
  auto b = request("p2.bin", "slow/", "rate=1048576");
  std::vector<std::vector<std::uint64_t>> seen(2);
  FetchHooks hooks;
  hooks.on_progress = [&](const EngineProgress& p) {
    ASSERT_EQ(p.files.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) seen[i].push_back(p.files[i].done);
    EXPECT_EQ(p.files[0].total, 2u << 20);
    EXPECT_EQ(p.files[1].total, 1u << 20);
  };
  modelcache::transfer::Engine engine(settings_);
  auto results = engine.fetch({a, b}, hooks);
  expect_fetched(results[0], a, "p1.bin");
  expect_fetched(results[1], b, "p2.bin");
  const std::uint64_t sizes[] = {2u << 20, 1u << 20};
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_GE(seen[i].size(), 3u);
    EXPECT_TRUE(std::is_sorted(seen[i].begin(), seen[i].end())) << "file " << i << " went down";
    EXPECT_EQ(seen[i].back(), sizes[i]);
    // Figures in between: progress while the bytes arrive, not only at the end.
    EXPECT_TRUE(std::any_of(seen[i].begin(), seen[i].end(),
                            [&](std::uint64_t v) { return v > 0 && v < sizes[i]; }))
        << "file " << i;
  }
}

TEST_F(EngineCancel, StopEndsTheFetchAtOnceAndTheNextOneResumes) {
  constexpr std::uint64_t kSize = 4 << 20;
  make_file("cancel.bin", kSize);
  make_file("queued.bin", 1000);
  settings_.max_connections = 4;
  auto r = request("cancel.bin", "slow/", "rate=524288");  // ~2 s over 4 connections
  auto q = request("queued.bin");
  std::stop_source stop;
  FetchHooks hooks;
  hooks.stop = stop.get_token();
  std::vector<std::size_t> settled;
  hooks.on_file_done = [&](std::size_t i, const modelcache::Result<FetchResult>&) {
    settled.push_back(i);
  };
  std::vector<modelcache::Result<FetchResult>> results;
  Clock::time_point returned;
  modelcache::transfer::Engine engine(settings_);
  std::thread t([&] {
    results = engine.fetch({r, q}, hooks);
    returned = Clock::now();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const auto stopped = Clock::now();
  stop.request_stop();
  t.join();
  EXPECT_LT(std::chrono::duration<double>(returned - stopped).count(), 0.5);

  ASSERT_EQ(results.size(), 2u);
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().code, ErrorCode::kCancelled);
  EXPECT_NE(results[0].error().message.find("cancel.bin"), std::string::npos);
  EXPECT_EQ(settled.size(), 2u);
  // What arrived is kept for the next fetch: part file and journal.
  EXPECT_TRUE(modelcache::util::exists(r.part_path));
  EXPECT_TRUE(modelcache::util::exists(r.journal_path));
  const std::uint64_t first = bytes_sent(requests_for("cancel.bin"));
  EXPECT_GT(first, 0u);
  EXPECT_LT(first, kSize);

  // The connections were dropped: the origin sees every request end (it would
  // go on for more than a second otherwise).
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  for (const auto& e : requests_for("cancel.bin")) {
    EXPECT_FALSE(e["t_end"].is_null()) << "a request still runs after the stop: " << e.dump();
  }

  origin_->reset();
  auto again = request("cancel.bin");
  auto res = fetch_one(again);
  expect_fetched(res, again, "cancel.bin");
  const std::uint64_t second = bytes_sent(requests_for("cancel.bin"));
  EXPECT_LT(second, kSize) << "the next fetch did not resume";
  EXPECT_EQ(res->bytes_downloaded, second);
}

TEST_F(EngineCancel, StopWakesALoopWaitingOnAStalledOrigin) {
  make_file("stalled.bin", 1 << 20);
  auto r = request("stalled.bin", "stall/", "after=1000&sleep=30");
  settings_.stall_timeout = std::chrono::seconds(20);
  std::stop_source stop;
  FetchHooks hooks;
  hooks.stop = stop.get_token();
  modelcache::Result<FetchResult> result = modelcache::fail(ErrorCode::kInternal, "unset");
  Clock::time_point returned;
  modelcache::transfer::Engine engine(settings_);
  std::thread t([&] {
    result = engine.fetch({r}, hooks).at(0);
    returned = Clock::now();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const auto stopped = Clock::now();
  stop.request_stop();
  t.join();
  EXPECT_LT(std::chrono::duration<double>(returned - stopped).count(), 0.5);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kCancelled);
}

TEST_F(EngineCancel, StopBeforeTheStartFetchesNothing) {
  make_file("never.bin", 1000);
  auto r = request("never.bin");
  std::stop_source stop;
  stop.request_stop();
  FetchHooks hooks;
  hooks.stop = stop.get_token();
  modelcache::transfer::Engine engine(settings_);
  auto res = engine.fetch({r}, hooks).at(0);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ErrorCode::kCancelled);
  EXPECT_TRUE(requests_for("never.bin").empty());
}

}  // namespace
}  // namespace mctest
