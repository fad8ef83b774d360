// The manager's rules with in-test loaders: states, single load, LRU by count and
// by bytes, pinning, models in use, failures.
#include "manager/model_manager.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

namespace modelcache::manager {
namespace {

using namespace std::chrono_literals;

// What the fake loader knows of each model: its size, whether it fails, how long it takes.
struct FakeSpec {
  std::uint64_t bytes = 100;
  std::string fail;  // non-empty: load() fails with this
  std::chrono::milliseconds delay{0};
};

struct Shared {
  std::map<std::string, FakeSpec> specs;
  std::atomic<int> loads{0};
  std::atomic<int> live{0};  // models constructed and not yet destroyed
  std::map<std::string, int> loads_of;
  std::atomic<bool> hold{false};  // while set, load() waits (a load in flight, for as long as a test needs)
  std::mutex mutex;
};

class FakeModel final : public LoadedModel {
 public:
  FakeModel(Shared& shared, std::uint64_t bytes) : shared_(shared), bytes_(bytes) {
    ++shared_.live;
  }
  ~FakeModel() override { --shared_.live; }
  std::string_view format() const override { return "fake"; }
  std::string_view task() const override { return "classification"; }
  std::uint64_t bytes_held() const override { return bytes_; }
  Result<nlohmann::json> infer(const InferInput& input) override {
    if (input.image.empty()) return fail(ErrorCode::kInvalidArgument, "empty image");
    return nlohmann::json{{"bytes", bytes_}};
  }

 private:
  Shared& shared_;
  std::uint64_t bytes_;
};

class FakeLoader final : public Loader {
 public:
  explicit FakeLoader(Shared& shared) : shared_(shared) {}
  std::string_view format() const override { return "fake"; }
  bool claims(const std::filesystem::path& dir) const override {
    return dir.filename() != "unclaimed";
  }
  Result<std::unique_ptr<LoadedModel>> load(const std::filesystem::path& dir) override {
    std::string id = dir.filename().string();
    FakeSpec spec;
    {
      std::lock_guard lock(shared_.mutex);
      spec = shared_.specs[id];
      ++shared_.loads_of[id];
    }
    ++shared_.loads;
    std::this_thread::sleep_for(spec.delay);
    while (shared_.hold) std::this_thread::sleep_for(1ms);
    if (!spec.fail.empty()) return fail(ErrorCode::kInvalidArgument, spec.fail);
    return std::make_unique<FakeModel>(shared_, spec.bytes);
  }

 private:
  Shared& shared_;
};

struct Events final : ManagerObserver {
  std::mutex mutex;
  std::vector<std::string> evicted;
  int ok = 0, failed = 0;
  void model_loaded(const std::string&, bool good, double) override {
    std::lock_guard lock(mutex);
    (good ? ok : failed)++;
  }
  void model_evicted(const std::string& id) override {
    std::lock_guard lock(mutex);
    evicted.push_back(id);
  }
};

class ManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ModelManager> make(ManagerLimits limits) {
    LoaderRegistry registry;
    registry.add(std::make_unique<FakeLoader>(shared));
    // The id is the snapshot folder's name; the disk size is the model's size.
    Resolver resolve = [this](const std::string& id) -> Result<ResolvedModel> {
      if (id == "missing") return fail(ErrorCode::kNotFound, "missing: not found at the origin");
      std::lock_guard lock(shared.mutex);
      return ResolvedModel{"/snapshots/" + id, shared.specs[id].bytes, nullptr};
    };
    return std::make_unique<ModelManager>(std::move(registry), resolve, limits, &events);
  }
  ModelState state(ModelManager& m, const std::string& id) { return m.info(id).value().state; }
  bool loaded(ModelManager& m, const std::string& id) {
    auto i = m.info(id);
    return i && i->state == ModelState::kReady;
  }

  Shared shared;
  Events events;
};

TEST_F(ManagerTest, LoadsOnceAndReportsReady) {
  auto m = make({});
  shared.specs["a"] = {1234};
  {
    auto h = m->acquire("a", OnFailed::kReport);
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_EQ(h->model().bytes_held(), 1234u);
    auto i = m->info("a").value();
    EXPECT_EQ(i.state, ModelState::kReady);
    EXPECT_EQ(i.format, "fake");
    EXPECT_EQ(i.task, "classification");
    EXPECT_EQ(i.bytes, 1234u);
    EXPECT_EQ(i.in_use, 1);
    EXPECT_EQ(i.snapshot, "/snapshots/a");
  }
  EXPECT_EQ(m->info("a")->in_use, 0);
  ASSERT_TRUE(m->acquire("a", OnFailed::kReport));
  EXPECT_EQ(shared.loads, 1);
  EXPECT_TRUE(m->is_loaded("a"));
  ASSERT_TRUE(m->unload("a"));
  EXPECT_FALSE(m->info("a"));
  EXPECT_EQ(shared.live, 0);
  EXPECT_EQ(m->unload("a").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(events.evicted.empty());  // an unload is not an eviction
}

TEST_F(ManagerTest, EightThreadsCauseOneLoad) {
  auto m = make({});
  shared.specs["a"] = {10};
  shared.hold = true;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (auto h = m->acquire("a", OnFailed::kReport)) {
        ++ok;
      }
    });
  }
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (shared.loads == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  std::this_thread::sleep_for(50ms);  // the other seven are asking by now
  EXPECT_EQ(state(*m, "a"), ModelState::kLoading);
  EXPECT_EQ(ok, 0);
  shared.hold = false;
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(shared.loads, 1);
  EXPECT_EQ(events.ok, 1);
}

TEST_F(ManagerTest, CountLimitEvictsTheLeastRecentlyUsed) {
  auto m = make({.max_models = 2});
  for (auto id : {"a", "b", "c"}) shared.specs[id] = {10};
  ASSERT_TRUE(m->acquire("a", OnFailed::kReport));
  ASSERT_TRUE(m->acquire("b", OnFailed::kReport));
  ASSERT_TRUE(m->acquire("a", OnFailed::kReport));  // a is now more recent than b
  ASSERT_TRUE(m->acquire("c", OnFailed::kReport));
  EXPECT_TRUE(loaded(*m, "a"));
  EXPECT_FALSE(m->info("b"));
  EXPECT_TRUE(loaded(*m, "c"));
  EXPECT_EQ(events.evicted, std::vector<std::string>{"b"});
  EXPECT_EQ(shared.live, 2);
  ASSERT_TRUE(m->acquire("b", OnFailed::kReport));  // b again: a is the oldest now
  EXPECT_FALSE(m->info("a"));
  EXPECT_EQ(shared.loads_of["b"], 2);
}

TEST_F(ManagerTest, ByteBudgetEvictsUntilTheNewModelFits) {
  auto m = make({.max_models = 8, .memory_budget = 1000});
  shared.specs["a"] = {400};
  shared.specs["b"] = {400};
  shared.specs["c"] = {700};
  ASSERT_TRUE(m->acquire("a", OnFailed::kReport));
  ASSERT_TRUE(m->acquire("b", OnFailed::kReport));
  ASSERT_TRUE(m->acquire("c", OnFailed::kReport));  // 400 + 400 + 700: both others go
  EXPECT_FALSE(m->info("a"));
  EXPECT_FALSE(m->info("b"));
  EXPECT_TRUE(loaded(*m, "c"));
  EXPECT_EQ(events.evicted, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(m->acquire("a", OnFailed::kReport));  // 700 + 400 > 1000: c goes
  EXPECT_FALSE(m->info("c"));
  EXPECT_EQ(shared.live, 1);
}

TEST_F(ManagerTest, ModelOverTheWholeBudgetIsFailed) {
  auto m = make({.max_models = 8, .memory_budget = 1000});
  shared.specs["a"] = {300};
  shared.specs["huge"] = {5000};
  ASSERT_TRUE(m->acquire("a", OnFailed::kReport));
  auto h = m->acquire("huge", OnFailed::kReport);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("more than the whole memory budget"), std::string::npos)
      << h.error().message;
  EXPECT_EQ(state(*m, "huge"), ModelState::kFailed);
  EXPECT_TRUE(loaded(*m, "a"));  // nothing was evicted for it
  EXPECT_EQ(shared.live, 1);
}

TEST_F(ManagerTest, EstimateOverTheBudgetStillLoadsWhenTheModelFits) {
  // On disk 5000 (other formats' files too), held 300: loads, and evicts nothing.
  LoaderRegistry registry;
  registry.add(std::make_unique<FakeLoader>(shared));
  shared.specs["a"] = {300};
  shared.specs["b"] = {300};
  ModelManager m(
      std::move(registry),
      [](const std::string& id) -> Result<ResolvedModel> {
        return ResolvedModel{"/snapshots/" + id, 5000, nullptr};
      },
      {.max_models = 8, .memory_budget = 1000}, &events);
  ASSERT_TRUE(m.acquire("a", OnFailed::kReport));
  auto b = m.acquire("b", OnFailed::kReport);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(m.info("b")->bytes, 300u);
  // No room was made for an estimate over the budget; 300 + 300 fit.
  EXPECT_TRUE(loaded(m, "a"));
  EXPECT_TRUE(events.evicted.empty());
}

TEST_F(ManagerTest, PinnedModelsSurvivePressure) {
  auto m = make({.max_models = 2});
  for (auto id : {"p", "a", "b", "c"}) shared.specs[id] = {10};
  m->start({"p"}, {"a"});
  EXPECT_TRUE(loaded(*m, "p"));
  EXPECT_TRUE(m->info("p")->pinned);
  EXPECT_TRUE(loaded(*m, "a"));
  EXPECT_FALSE(m->info("a")->pinned);
  for (auto id : {"b", "c", "a", "b"}) ASSERT_TRUE(m->acquire(id, OnFailed::kReport)) << id;
  EXPECT_TRUE(loaded(*m, "p"));
  EXPECT_EQ(shared.loads_of["p"], 1);
  EXPECT_EQ(std::count(events.evicted.begin(), events.evicted.end(), "p"), 0);
}

TEST_F(ManagerTest, OnlyPinnedModelsLeftRefusesWithAClearError) {
  auto m = make({.max_models = 1});
  shared.specs["p"] = {10};
  shared.specs["a"] = {10};
  m->start({"p"}, {});
  auto h = m->acquire("a", OnFailed::kReport);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, ErrorCode::kNoSpace);
  EXPECT_NE(h.error().message.find("pinned"), std::string::npos) << h.error().message;
  EXPECT_FALSE(m->info("a"));  // not the model's fault: not FAILED
  EXPECT_TRUE(loaded(*m, "p"));
}

TEST_F(ManagerTest, ModelInUseIsNeverDestroyedUnderItsRequest) {
  auto m = make({.max_models = 1});
  shared.specs["a"] = {10};
  shared.specs["b"] = {10};
  auto a = m->acquire("a", OnFailed::kReport);
  ASSERT_TRUE(a);
  std::atomic<bool> b_loaded{false};
  std::thread t([&] {
    auto b = m->acquire("b", OnFailed::kReport);
    b_loaded = b.has_value();
  });
  // b waits: a is marked UNLOADING (no new handles) but lives while held.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (state(*m, "a") != ModelState::kUnloading && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(state(*m, "a"), ModelState::kUnloading);
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(b_loaded);
  EXPECT_EQ(shared.live, 1);
  auto result = a->model().infer({"img"});  // still usable
  ASSERT_TRUE(result);
  *a = ModelHandle(std::move(*a));  // self-move-assignment through a temporary keeps the hold
  EXPECT_EQ(shared.live, 1);
  a = fail(ErrorCode::kInternal, "released");  // the request ends
  t.join();
  EXPECT_TRUE(b_loaded);
  EXPECT_FALSE(m->info("a"));
  EXPECT_EQ(shared.live, 1);
}

TEST_F(ManagerTest, IdleModelsAreEvictedBeforeModelsInUse) {
  auto m = make({.max_models = 2});
  for (auto id : {"a", "b", "c"}) shared.specs[id] = {10};
  auto a = m->acquire("a", OnFailed::kReport);  // a: oldest, but in use
  ASSERT_TRUE(a);
  ASSERT_TRUE(m->acquire("b", OnFailed::kReport));
  ASSERT_TRUE(m->acquire("c", OnFailed::kReport));  // b goes, not a
  EXPECT_TRUE(loaded(*m, "a"));
  EXPECT_FALSE(m->info("b"));
}

TEST_F(ManagerTest, FailedReasonIsKeptAndRetriedOnlyByAnExplicitLoad) {
  auto m = make({});
  shared.specs["bad"] = {10, "bad: header offsets out of bounds"};
  auto h = m->acquire("bad", OnFailed::kReport);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().message, "bad: header offsets out of bounds");
  auto info = m->info("bad").value();
  EXPECT_EQ(info.state, ModelState::kFailed);
  EXPECT_EQ(info.error, "bad: header offsets out of bounds");
  EXPECT_FALSE(m->is_loaded("bad"));
  // An inference request gets the reason again without a new load...
  ASSERT_FALSE(m->acquire("bad", OnFailed::kReport));
  EXPECT_EQ(shared.loads, 1);
  // ...an explicit load tries again, and succeeds once the model is fixed.
  shared.specs["bad"].fail.clear();
  ASSERT_TRUE(m->acquire("bad", OnFailed::kRetry));
  EXPECT_EQ(shared.loads, 2);
  EXPECT_EQ(state(*m, "bad"), ModelState::kReady);
  EXPECT_EQ(events.failed, 1);
  EXPECT_EQ(events.ok, 1);
}

TEST_F(ManagerTest, ResolverAndRegistryErrorsAreFailedReasons) {
  auto m = make({});
  ASSERT_FALSE(m->acquire("missing", OnFailed::kReport));
  EXPECT_EQ(m->info("missing")->error, "missing: not found at the origin");
  ASSERT_FALSE(m->acquire("unclaimed", OnFailed::kReport));
  EXPECT_NE(m->info("unclaimed")->error.find("no loader claims unclaimed (formats served: fake)"),
            std::string::npos)
      << m->info("unclaimed")->error;
  ASSERT_TRUE(m->unload("missing"));  // forgets the failure
  EXPECT_FALSE(m->info("missing"));
}

TEST_F(ManagerTest, ConcurrentRequestsOverMoreModelsThanSlotsAllSucceed) {
  auto m = make({.max_models = 2, .wait_timeout = 20000ms});
  for (auto id : {"a", "b", "c"}) shared.specs[id] = {10, "", 5ms};
  std::atomic<int> ok{0};
  std::atomic<int> max_live{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] {
      for (int r = 0; r < 10; ++r) {
        std::string id(1, static_cast<char>('a' + (i + r) % 3));
        auto h = m->acquire(id, OnFailed::kReport);
        if (!h) continue;
        int live = shared.live;
        for (int seen = max_live; live > seen && !max_live.compare_exchange_weak(seen, live);) {
        }
        if (h->model().infer({"img"})) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 120);
  EXPECT_LE(max_live, 2);
  EXPECT_LE(m->list().size(), 2u);
}

}  // namespace
}  // namespace modelcache::manager
