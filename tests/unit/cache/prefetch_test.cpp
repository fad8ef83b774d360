// Prefetch end to end inside the library: a Hub fixture (tests/fixtures/hf_fixture.py)
// lists the repos and redirects LFS downloads to the fault origin's paced `slow/`
// mode (tests/fixtures/fault_origin.py, 1 MiB/s per request), so that a big file
// takes a couple of seconds while a small one arrives at once.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "fixture_process.hpp"
#include "modelcache/modelcache.hpp"
#include "temp_dir.hpp"
#include "transfer/fault_origin.hpp"
#include "util/fs.hpp"
#include "util/hasher.hpp"

namespace mctest {
namespace {

namespace fs = std::filesystem;
using modelcache::CacheOptions;
using modelcache::EntryState;
using modelcache::ErrorCode;
using modelcache::FileState;
using modelcache::Prefetch;
using modelcache::PrefetchItem;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBig = 8 << 20;  // 4 connections of 2 MiB at 1 MiB/s: ~2 s

void put(const fs::path& path, const std::string& data) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class PrefetchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    origin_root_ = std::make_unique<TempDir>();
    hub_root_ = std::make_unique<TempDir>();
    big_ = random_bytes(kBig, 42);
    config_ = R"({"model_type": "test"})";
    const fs::path model = hub_root_->path() / "org" / "model";
    put(model / "config.json", config_);
    put(model / "big.bin", big_);
    // The LFS "CDN": files named by sha256, served by the fault origin.
    put(origin_root_->path() / modelcache::util::sha256_hex(big_), big_);
    // org/broken: its LFS file's bytes at the CDN are not what the Hub promises.
    const std::string bad = random_bytes(4096, 7);
    put(hub_root_->path() / "org" / "broken" / "config.json", config_);
    put(hub_root_->path() / "org" / "broken" / "bad.bin", bad);
    put(origin_root_->path() / modelcache::util::sha256_hex(bad), random_bytes(4096, 8));

    origin_ = std::make_unique<FaultOrigin>(origin_root_->path());
    hub_ = std::make_unique<FixtureProcess>(
        std::string(MC_FIXTURES_DIR) + "/hf_fixture.py",
        std::vector<std::string>{"--root", hub_root_->path().string(), "--lfs-threshold", "1024",
                                 "--lfs-base-url", origin_->url("slow")});
    ASSERT_TRUE(hub_->ok()) << hub_->error();
    ::setenv("HF_ENDPOINT", hub_->url().c_str(), 1);
    for (const char* v : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "MODELCACHE_OFFLINE", "HF_HUB_OFFLINE"}) {
      ::unsetenv(v);
    }
    ::setenv("MODELCACHE_MIN_SEGMENT", "2097152", 1);
    ::setenv("MODELCACHE_CONNECTIONS_PER_HOST", "4", 1);
    ::setenv("MODELCACHE_BACKOFF_MS", "20", 1);
  }
  static void TearDownTestSuite() {
    hub_.reset();
    origin_.reset();
    hub_root_.reset();
    origin_root_.reset();
  }
  void SetUp() override { origin_->reset(); }

  CacheOptions cache_options() const { return CacheOptions{tmp_.path() / "cache"}; }
  fs::path root() const { return tmp_.path() / "cache"; }
  fs::path big_blob() const {
    std::string sha = modelcache::util::sha256_hex(big_);
    return root() / "blobs" / "sha256" / sha.substr(0, 2) / sha;
  }
  // Bytes the CDN sent of the big file.
  std::uint64_t big_bytes_sent() const {
    std::uint64_t n = 0;
    std::string sha = modelcache::util::sha256_hex(big_);
    for (const auto& e : origin_->log()) {
      if (e["path"].get<std::string>().ends_with(sha)) n += e["bytes_sent"].get<std::uint64_t>();
    }
    return n;
  }
  // Anything published under models/*/snapshots.
  bool any_snapshot() const {
    std::error_code ec;
    if (!fs::exists(root() / "models", ec)) return false;
    for (const auto& m : fs::directory_iterator(root() / "models", ec)) {
      for ([[maybe_unused]] const auto& s : fs::directory_iterator(m.path() / "snapshots", ec)) {
        return true;
      }
    }
    return false;
  }
  static const modelcache::FileProgress* find(const modelcache::PrefetchStatus& s, std::size_t entry,
                                              const std::string& path) {
    if (entry >= s.entries.size()) return nullptr;
    for (const auto& f : s.entries[entry].files) {
      if (f.path == path) return &f;
    }
    return nullptr;
  }

  static inline std::unique_ptr<TempDir> origin_root_, hub_root_;
  static inline std::unique_ptr<FaultOrigin> origin_;
  static inline std::unique_ptr<FixtureProcess> hub_;
  static inline std::string big_, config_;
  TempDir tmp_;
};

TEST_F(PrefetchTest, StartReturnsAtOnce) {
  const auto t0 = Clock::now();
  auto p = Prefetch::start({PrefetchItem{"hf://org/model"}}, cache_options());
  EXPECT_LT(since(t0), 0.05);
  EXPECT_FALSE(p.progress().finished);
  auto all = p.wait();
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_GT(since(t0), 1.0) << "the paced download should take a while";
}

TEST_F(PrefetchTest, WaitFileReturnsASmallFileWhileTheBigOneDownloads) {
  const auto t0 = Clock::now();
  auto p = Prefetch::start({PrefetchItem{"hf://org/model"}}, cache_options());
  auto config = p.wait_file("config.json");
  const double config_at = since(t0);
  ASSERT_TRUE(config) << config.error().message;
  // At this moment the big file is not committed and nothing is published.
  auto status = p.progress();
  EXPECT_FALSE(fs::exists(big_blob()));
  EXPECT_FALSE(any_snapshot());
  const auto* big = find(status, 0, "big.bin");
  ASSERT_NE(big, nullptr);
  EXPECT_NE(big->state, FileState::kCommitted);
  EXPECT_EQ(big->bytes_total, kBig);
  EXPECT_EQ(status.entries[0].state, EntryState::kDownloading);
  // The verified blob, read-only.
  EXPECT_EQ(read_all(*config), config_);
  EXPECT_EQ(config->filename().string(), modelcache::util::sha256_hex(config_));
  EXPECT_LT(config_at, 1.0);

  auto snaps = p.wait();
  const double all_at = since(t0);
  ASSERT_TRUE(snaps) << snaps.error().message;
  ASSERT_EQ(snaps->size(), 1u);
  EXPECT_GT(all_at, config_at + 1.0);
  EXPECT_EQ((*snaps)[0].files.size(), 2u);
  // Once published, wait_file names the snapshot link.
  auto big_path = p.wait_file("big.bin");
  ASSERT_TRUE(big_path) << big_path.error().message;
  EXPECT_EQ(*big_path, (*snaps)[0].path / "big.bin");
  EXPECT_TRUE(read_all(*big_path) == big_);
  auto again = p.wait_file("config.json");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, (*snaps)[0].path / "config.json");
}

TEST_F(PrefetchTest, ProgressRisesMonotonicallyToTheTotals) {
  auto p = Prefetch::start({PrefetchItem{"hf://org/model"}}, cache_options());
  std::vector<std::uint64_t> big_done, all_done;
  std::vector<FileState> states;
  for (;;) {
    auto s = p.progress();
    if (const auto* f = find(s, 0, "big.bin")) {
      big_done.push_back(f->bytes_done);
      states.push_back(f->state);
      EXPECT_EQ(f->bytes_total, kBig);
    }
    all_done.push_back(s.bytes_done);
    EXPECT_LE(s.bytes_done, s.bytes_total);
    if (s.finished) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(p.wait());
  ASSERT_GE(big_done.size(), 5u);
  EXPECT_TRUE(std::is_sorted(big_done.begin(), big_done.end()));
  EXPECT_TRUE(std::is_sorted(all_done.begin(), all_done.end()));
  EXPECT_TRUE(std::is_sorted(states.begin(), states.end())) << "a file's state went back";
  EXPECT_EQ(big_done.back(), kBig);
  EXPECT_EQ(all_done.back(), kBig + config_.size());
  EXPECT_EQ(states.back(), FileState::kCommitted);
  std::size_t between = std::count_if(big_done.begin(), big_done.end(),
                                      [](std::uint64_t v) { return v > 0 && v < kBig; });
  EXPECT_GE(between, 3u) << "progress should be seen while the bytes arrive";
}

TEST_F(PrefetchTest, CancelStopsQuicklyPublishesNothingAndTheNextPullResumes) {
  auto p = Prefetch::start({PrefetchItem{"hf://org/model"}}, cache_options());
  // Wait until a good part of the big file is in.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto s = p.progress();
    const auto* f = find(s, 0, "big.bin");
    if (f && f->bytes_done >= (2u << 20)) break;
    ASSERT_LT(Clock::now(), deadline) << "the download did not progress";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto t0 = Clock::now();
  p.cancel();
  EXPECT_LT(since(t0), 1.0) << "cancel() took too long";

  auto r = p.wait();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  auto f = p.wait_file("big.bin");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ErrorCode::kCancelled);
  EXPECT_FALSE(any_snapshot());
  EXPECT_FALSE(fs::exists(big_blob()));
  const std::uint64_t first = big_bytes_sent();
  EXPECT_LT(first, kBig);
  // Nothing runs any more: the blob does not appear later either.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(fs::exists(big_blob()));
  EXPECT_FALSE(any_snapshot());

  origin_->reset();
  auto cache = modelcache::Cache::open(cache_options());
  ASSERT_TRUE(cache) << cache.error().message;
  auto snap = cache->pull("hf://org/model");
  ASSERT_TRUE(snap) << snap.error().message;
  EXPECT_TRUE(read_all(snap->path / "big.bin") == big_);
  const std::uint64_t second = big_bytes_sent();
  EXPECT_LT(second, kBig - (1u << 20)) << "the pull after cancel did not resume";
  // (config.json, if it was not committed before the cancel, adds its few bytes.)
  EXPECT_GE(snap->bytes_downloaded, second);
  EXPECT_LE(snap->bytes_downloaded, second + config_.size());
}

TEST_F(PrefetchTest, AFailingEntryIsNamedWhileTheOthersSucceed) {
  PrefetchItem good{"hf://org/model"};
  good.options.allow = {"config.json"};
  auto p = Prefetch::start({good, PrefetchItem{"hf://org/missing"}}, cache_options());
  auto all = p.wait();
  ASSERT_FALSE(all);
  EXPECT_NE(all.error().message.find("hf://org/missing"), std::string::npos) << all.error().message;
  EXPECT_NE(all.error().message.find("entry 1"), std::string::npos) << all.error().message;
  auto first = p.wait(0);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(read_all(first->path / "config.json"), config_);
  auto second = p.wait(1);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, all.error().code);
  auto status = p.progress();
  EXPECT_EQ(status.entries[0].state, EntryState::kDone);
  EXPECT_EQ(status.entries[1].state, EntryState::kFailed);
  // The file of the good entry is still found by name.
  auto config = p.wait_file("config.json");
  ASSERT_TRUE(config) << config.error().message;
}

TEST_F(PrefetchTest, WaitFileErrors) {
  PrefetchItem model{"hf://org/model"};
  model.options.allow = {"config.json"};
  PrefetchItem broken{"hf://org/broken"};
  auto p = Prefetch::start({model, broken}, cache_options());

  auto none = p.wait_file("nope.txt");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kEntryNotFound);
  EXPECT_NE(none.error().message.find("nope.txt"), std::string::npos);
  // Not selected by entry 0's allow pattern.
  auto unselected = p.wait_file(0, "big.bin");
  ASSERT_FALSE(unselected);
  EXPECT_EQ(unselected.error().code, ErrorCode::kEntryNotFound);
  // Both entries have a config.json.
  auto ambiguous = p.wait_file("config.json");
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().code, ErrorCode::kInvalidArgument);
  auto which = p.wait_file(1, "config.json");
  ASSERT_TRUE(which) << which.error().message;
  EXPECT_EQ(read_all(*which), config_);
  // The download of bad.bin fails its digest check: that error, naming the file.
  auto bad = p.wait_file("bad.bin");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kIntegrity) << bad.error().message;
  EXPECT_NE(bad.error().message.find("bad.bin"), std::string::npos) << bad.error().message;
  auto out_of_range = p.wait_file(2, "config.json");
  ASSERT_FALSE(out_of_range);
  EXPECT_EQ(out_of_range.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(p.wait());
}

TEST_F(PrefetchTest, WarmEntriesAreReadyWithoutDownloading) {
  {
    PrefetchItem small{"hf://org/model"};
    small.options.allow = {"config.json"};
    auto p = Prefetch::start({small}, cache_options());
    ASSERT_TRUE(p.wait());
  }
  origin_->reset();
  PrefetchItem small{"hf://org/model"};
  small.options.allow = {"config.json"};
  auto p = Prefetch::start({small}, cache_options());
  auto config = p.wait_file("config.json");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(read_all(*config), config_);
  ASSERT_TRUE(p.wait_for(std::chrono::seconds(5)));
  EXPECT_TRUE(p.progress().finished);
  EXPECT_EQ(p.progress().entries[0].files.at(0).state, FileState::kCommitted);
}

TEST_F(PrefetchTest, TwoEntriesSharingABlobDownloadItOnce) {
  // The same repo by branch and by commit: both select big.bin, one blob. The
  // blob lock makes one entry wait for the other's download.
  PrefetchItem a{"hf://org/model"};
  PrefetchItem b{"hf://org/model@main"};
  auto p = Prefetch::start({a, b}, cache_options());
  auto big = p.wait_file("big.bin");
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidArgument) << big.error().message;
  auto big1 = p.wait_file(1, "big.bin");
  ASSERT_TRUE(big1) << big1.error().message;
  EXPECT_TRUE(read_all(*big1) == big_);
  auto all = p.wait();
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].path, (*all)[1].path);
  EXPECT_EQ(big_bytes_sent(), kBig) << "the shared blob was downloaded more than once";
  EXPECT_EQ((*all)[0].bytes_downloaded + (*all)[1].bytes_downloaded, kBig + config_.size());
}

TEST_F(PrefetchTest, DestructorCancelsAndJoins) {
  const auto t0 = Clock::now();
  {
    auto p = Prefetch::start({PrefetchItem{"hf://org/model"}}, cache_options());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  EXPECT_LT(since(t0), 1.5);
  EXPECT_FALSE(any_snapshot());
}

}  // namespace
}  // namespace mctest
