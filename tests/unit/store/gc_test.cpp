// gc / prune / rm / purge on a store built by hand: LRU order from lease times,
// leased snapshots kept, shared blobs kept, the pull window (hold_off_gc) keeps
// gc out, prune removes exactly the leftovers.
#include "store/gc.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include "store/lease.hpp"
#include "store/usage.hpp"
#include "add_blob.hpp"
#include "temp_dir.hpp"
#include "util/atomic_file.hpp"
#include "util/hasher.hpp"

using namespace modelcache;
using namespace modelcache::store;

namespace {

using test_support::add_blob;

// A published snapshot `id` of model folder `folder` with files name -> content,
// its ref "main" (when `ref`), and a lease file last used `age` seconds ago.
void add_snapshot(Store& s, const std::string& folder, const std::string& id,
                  const std::vector<std::pair<std::string, std::string>>& files, std::int64_t age,
                  bool ref = true) {
  std::vector<ManifestEntry> entries;
  for (const auto& [name, content] : files) {
    entries.push_back(
        ManifestEntry{name, content.size(), add_blob(s, content), std::nullopt, "", ""});
  }
  ASSERT_TRUE(
      s.add_to_snapshot(SnapshotKey{"file:///" + folder, folder, id, ""}, entries, entries));
  if (ref) {
    ASSERT_TRUE(s.write_ref(folder, "latest", RefRecord{id, 1}));
  }
  {
    auto lease = Lease::acquire(s.layout(), folder, id);
    ASSERT_TRUE(lease);
  }
  std::int64_t t = util::unix_now() - age;
  struct utimbuf times {
    t, t
  };
  ASSERT_EQ(::utime(s.layout().lease(folder, id).c_str(), &times), 0);
}

std::string kb(char c, std::size_t n = 1000) { return std::string(n, c); }

bool published(const Store& s, const std::string& folder, const std::string& id) {
  return util::exists(s.layout().manifest(folder, id));
}

}  // namespace

TEST(Gc, RemovesLeastRecentlyUsedUntilTheBlobsFit) {
  mctest::TempDir dir;
  auto s = Store::open(dir.path());
  ASSERT_TRUE(s);
  add_snapshot(*s, "a", "1", {{"w", kb('a')}}, 300);
  add_snapshot(*s, "b", "2", {{"w", kb('b')}}, 100);
  add_snapshot(*s, "c", "3", {{"w", kb('c')}}, 200);
  auto usage = scan(*s);
  ASSERT_TRUE(usage);
  ASSERT_EQ(usage->snapshots.size(), 3u);
  EXPECT_EQ(usage->snapshots[0].snapshot_id, "1");  // oldest first
  EXPECT_EQ(usage->snapshots[2].snapshot_id, "2");
  EXPECT_EQ(usage->blobs_total(), 3000u);

  auto r = gc(*s, 1500);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->removed.size(), 2u);  // a (oldest), then c
  EXPECT_FALSE(published(*s, "a", "1"));
  EXPECT_FALSE(published(*s, "c", "3"));
  EXPECT_TRUE(published(*s, "b", "2"));
  EXPECT_EQ(r->blobs_removed, 2u);
  EXPECT_EQ(r->bytes_after, 1000u);
  EXPECT_FALSE(util::exists(s->layout().ref_file("a", "latest")));
  EXPECT_TRUE(util::exists(s->layout().blob(util::sha256_hex(kb('b')))));
}

TEST(Gc, LeasedAndKeptSnapshotsStayEvenOverBudget) {
  mctest::TempDir dir;
  auto s = Store::open(dir.path());
  ASSERT_TRUE(s);
  add_snapshot(*s, "a", "1", {{"w", kb('a')}}, 300);
  add_snapshot(*s, "b", "2", {{"w", kb('b')}}, 200);
  add_snapshot(*s, "c", "3", {{"w", kb('c')}}, 100);
  auto lease = Lease::acquire(s->layout(), "a", "1");
  ASSERT_TRUE(lease);
  auto r = gc(*s, 0, {SnapshotName{"c", "3"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(published(*s, "a", "1"));
  EXPECT_FALSE(published(*s, "b", "2"));
  EXPECT_TRUE(published(*s, "c", "3"));
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_NE(r->skipped[0].find("@1"), std::string::npos);
  EXPECT_EQ(r->bytes_after, 2000u);
  // rm of the leased snapshot is refused the same way.
  auto rm = remove(*s, "a", std::string("1"));
  ASSERT_TRUE(rm);
  EXPECT_TRUE(rm->removed.empty());
  EXPECT_EQ(rm->skipped.size(), 1u);
  EXPECT_TRUE(published(*s, "a", "1"));
}

TEST(Gc, SharedBlobSurvivesRemovalOfOneSnapshot) {
  mctest::TempDir dir;
  auto s = Store::open(dir.path());
  ASSERT_TRUE(s);
  add_snapshot(*s, "a", "1", {{"shared", kb('s')}, {"own", kb('a')}}, 300);
  add_snapshot(*s, "b", "2", {{"shared", kb('s')}}, 100);
  auto r = remove(*s, "a", std::nullopt);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->removed.size(), 1u);
  EXPECT_EQ(r->blobs_removed, 1u);
  EXPECT_FALSE(util::exists(s->layout().model_dir("a")));
  EXPECT_EQ(*util::read_file(s->layout().snapshot_dir("b", "2") / "shared"), kb('s'));
}

TEST(Gc, WaitsForAPullWindowAndTryReportsBusy) {
  mctest::TempDir dir;
  auto s = Store::open(dir.path());
  ASSERT_TRUE(s);
  // A pull committed this blob and has not linked it yet.
  std::string sha = add_blob(*s, "just committed");
  {
    auto window = hold_off_gc(s->layout());
    ASSERT_TRUE(window);
    auto r = gc(*s, 0, {}, Wait::kTry);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->busy);
    auto p = prune(*s, std::chrono::seconds(0), Wait::kTry);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->busy);
    EXPECT_TRUE(s->has_blob(sha));
  }
  auto r = gc(*s, 0, {}, Wait::kTry);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->busy);
  EXPECT_FALSE(s->has_blob(sha));  // nothing links it: garbage once the window closed
}

TEST(Gc, PruneRemovesExactlyTheLeftovers) {
  mctest::TempDir dir;
  auto s = Store::open(dir.path());
  ASSERT_TRUE(s);
  add_snapshot(*s, "a", "1", {{"w", kb('a')}}, 10);
  std::string orphan = add_blob(*s, "orphan");
  // A dangling ref, an unpublished snapshot folder, an empty model folder.
  ASSERT_TRUE(s->write_ref("a", "gone", RefRecord{"9", 1}));
  ASSERT_TRUE(util::make_dirs(s->layout().snapshot_dir("a", "8")));
  ASSERT_TRUE(util::make_dirs(s->layout().refs_dir("empty")));
  // Partial downloads: one stale and free, one stale but locked, one fresh.
  auto stale = s->layout().part_file(std::string(64, '1'));
  auto locked = s->layout().part_file(std::string(64, '2'));
  auto fresh = s->layout().part_file(std::string(64, '3'));
  for (const auto& p : {stale, locked, fresh}) ASSERT_TRUE(util::write_file_atomic(p, "partial"));
  std::int64_t old = util::unix_now() - 7200;
  struct utimbuf times {
    old, old
  };
  ASSERT_EQ(::utime(stale.c_str(), &times), 0);
  ASSERT_EQ(::utime(locked.c_str(), &times), 0);
  auto held = s->lock_blob(std::string(64, '2'));
  ASSERT_TRUE(held);

  auto r = prune(*s, std::chrono::seconds(3600));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->removed.empty());
  EXPECT_EQ(r->blobs_removed, 1u);
  EXPECT_FALSE(s->has_blob(orphan));
  EXPECT_TRUE(s->has_blob(util::sha256_hex(kb('a'))));
  EXPECT_EQ(r->tmp_removed, 1u);
  EXPECT_FALSE(util::exists(stale));
  EXPECT_TRUE(util::exists(locked));
  EXPECT_TRUE(util::exists(fresh));
  EXPECT_EQ(r->refs_removed, 1u);
  EXPECT_TRUE(util::exists(s->layout().ref_file("a", "latest")));
  EXPECT_FALSE(util::exists(s->layout().snapshot_dir("a", "8")));
  EXPECT_FALSE(util::exists(s->layout().model_dir("empty")));
  EXPECT_TRUE(published(*s, "a", "1"));
}

TEST(Lease, UseIsRecordedAtMostHourly) {
  mctest::TempDir dir;
  auto s = Store::open(dir.path());
  ASSERT_TRUE(s);
  add_snapshot(*s, "a", "1", {{"w", kb('a')}}, 600);
  std::int64_t before = last_used(s->layout(), "a", "1");
  EXPECT_NEAR(static_cast<double>(before), static_cast<double>(util::unix_now() - 600), 2);
  {
    auto l = Lease::acquire(s->layout(), "a", "1");
    ASSERT_TRUE(l);
  }
  EXPECT_EQ(last_used(s->layout(), "a", "1"), before);  // younger than an hour: no write
  std::int64_t t = util::unix_now() - 2 * 3600;
  struct utimbuf times {
    t, t
  };
  ASSERT_EQ(::utime(s->layout().lease("a", "1").c_str(), &times), 0);
  {
    auto l = Lease::acquire(s->layout(), "a", "1");
    ASSERT_TRUE(l);
  }
  EXPECT_GE(last_used(s->layout(), "a", "1"), util::unix_now() - 5);
  // An exclusive lease is refused while a shared one is held, in the same process too.
  auto shared = Lease::acquire(s->layout(), "a", "1");
  ASSERT_TRUE(shared);
  auto ex = Lease::try_exclusive(s->layout(), "a", "1");
  ASSERT_TRUE(ex);
  EXPECT_FALSE(*ex);
}
