#include "store/lease.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "temp_dir.hpp"

using namespace modelcache;
using namespace modelcache::store;

TEST(Lease, SharedLeasesCoexistAndKeepRemoversOut) {
  mctest::TempDir dir;
  Layout l(dir / "root");
  auto a = Lease::acquire(l, "m-0123", "snap");
  ASSERT_TRUE(a) << a.error().message;
  auto b = Lease::acquire(l, "m-0123", "snap");
  ASSERT_TRUE(b) << b.error().message;
  auto ex = Lease::try_exclusive(l, "m-0123", "snap");
  ASSERT_TRUE(ex);
  EXPECT_FALSE(*ex);
  { auto gone = std::move(*a); }
  ex = Lease::try_exclusive(l, "m-0123", "snap");
  ASSERT_TRUE(ex);
  EXPECT_FALSE(*ex) << "one shared holder is enough to keep the snapshot";
  { auto gone = std::move(*b); }
  ex = Lease::try_exclusive(l, "m-0123", "snap");
  ASSERT_TRUE(ex);
  EXPECT_TRUE(*ex);
}

// A waiter whose lease file the remover unlinked must not end up holding a lock
// on the dead file: it retries on the current path, so a later remover sees it.
TEST(Lease, WaiterRetriesWhenTheRemoverUnlinkedTheFile) {
  mctest::TempDir dir;
  Layout l(dir / "root");
  auto ex = Lease::try_exclusive(l, "m-0123", "snap");
  ASSERT_TRUE(ex && *ex);
  std::atomic<bool> got{false};
  std::optional<Lease> waiter_lease;
  std::thread waiter([&] {
    auto s = Lease::acquire(l, "m-0123", "snap");
    ASSERT_TRUE(s) << s.error().message;
    waiter_lease.emplace(std::move(*s));
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(got.load()) << "a shared lease waits while a remover holds the snapshot";
  (*ex)->remove_file();
  ex->reset();
  waiter.join();
  ASSERT_TRUE(got.load());
  struct stat st {};
  EXPECT_EQ(::stat(l.lease("m-0123", "snap").c_str(), &st), 0)
      << "the waiter recreated the lease file";
  auto again = Lease::try_exclusive(l, "m-0123", "snap");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again) << "the waiter's lease is on the file removers look at";
}

TEST(Lease, LastUsedFallsBackToTheManifestThenZero) {
  mctest::TempDir dir;
  Layout l(dir / "root");
  EXPECT_EQ(last_used(l, "m-0123", "snap"), 0);
  auto a = Lease::acquire(l, "m-0123", "snap");
  ASSERT_TRUE(a);
  EXPECT_GT(last_used_ns(l, "m-0123", "snap"), 0);
  EXPECT_LE(std::llabs(last_used(l, "m-0123", "snap") - util::unix_now()), 2);
}
