#include "store/store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "add_blob.hpp"
#include "temp_dir.hpp"
#include "util/atomic_file.hpp"
#include "util/hasher.hpp"

using namespace modelcache;
using namespace modelcache::store;

namespace {
using test_support::add_blob;

ManifestEntry entry(const std::string& path, const std::string& content, const std::string& sha) {
  return ManifestEntry{path, content.size(), sha, std::nullopt, "", ""};
}
}  // namespace

TEST(Store, OpenCreatesLayoutAndRejectsOtherFormats) {
  mctest::TempDir dir;
  auto s = Store::open(dir / "root");
  ASSERT_TRUE(s);
  EXPECT_EQ(*util::read_file(dir / "root/VERSION"), "1\n");
  ASSERT_TRUE(util::write_file_atomic(dir / "root/VERSION", "7\n"));
  auto again = Store::open(dir / "root");
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("format"), std::string::npos);
}

TEST(Store, BlobsAreReadOnlyAndNamedByContent) {
  mctest::TempDir dir;
  auto s = Store::open(dir.path());
  ASSERT_TRUE(s);
  std::string sha = add_blob(*s, "weights");
  EXPECT_TRUE(s->has_blob(sha));
  struct stat st;
  ASSERT_EQ(stat(s->layout().blob(sha).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444);
  EXPECT_EQ(s->layout().blob(sha).parent_path().filename(), sha.substr(0, 2));
  // Committing the same content again is success and leaves no part file behind.
  std::string sha2 = add_blob(*s, "weights");
  EXPECT_EQ(sha, sha2);
  EXPECT_FALSE(util::exists(s->layout().part_file(sha)));
}

TEST(Store, SnapshotLinksAreRelativeAndManifestIsTheUnion) {
  mctest::TempDir dir;
  auto s = Store::open(dir.path());
  ASSERT_TRUE(s);
  std::string a = add_blob(*s, "aaa"), b = add_blob(*s, "bbbb");
  SnapshotKey key{"hf://org/m", "org-m-0123", "c0ffee", "http://origin"};
  std::vector<ManifestEntry> listing{entry("a.json", "aaa", ""), entry("sub/dir/b.bin", "bbbb", "")};
  auto m1 = s->add_to_snapshot(key, listing, {entry("a.json", "aaa", a)});
  ASSERT_TRUE(m1);
  EXPECT_EQ(m1->present_count(), 1u);
  auto m2 = s->add_to_snapshot(key, listing, {entry("sub/dir/b.bin", "bbbb", b)});
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->present_count(), 2u);
  EXPECT_EQ(m2->files.size(), 2u);

  auto link = s->layout().snapshot_dir("org-m-0123", "c0ffee") / "sub/dir/b.bin";
  std::error_code ec;
  auto target = std::filesystem::read_symlink(link, ec);
  ASSERT_FALSE(ec);
  EXPECT_TRUE(target.is_relative()) << target;
  EXPECT_EQ(*util::read_file(link), "bbbb");

  // The manifest on disk is what add_to_snapshot returned.
  auto disk = s->read_manifest("org-m-0123", "c0ffee");
  ASSERT_TRUE(disk && *disk);
  EXPECT_EQ((*disk)->to_json(), m2->to_json());
}

TEST(Store, RefsRecordResolutionTimeAndEncodeSlashes) {
  mctest::TempDir dir;
  auto s = Store::open(dir.path());
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_ref("f", "refs/pr/1", RefRecord{"abc", 1234}));
  EXPECT_TRUE(util::exists(s->layout().refs_dir("f") / "refs%2Fpr%2F1"));
  auto r = s->read_ref("f", "refs/pr/1");
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->snapshot_id, "abc");
  EXPECT_EQ((*r)->resolved_at, 1234);
  auto none = s->read_ref("f", "main");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST(Store, VerifyFindsAndRepairsCorruptBlobs) {
  mctest::TempDir dir;
  auto s = Store::open(dir.path());
  ASSERT_TRUE(s);
  std::string good = add_blob(*s, "good"), bad = add_blob(*s, "bad");
  auto bad_path = s->layout().blob(bad);
  chmod(bad_path.c_str(), 0644);
  ASSERT_TRUE(util::write_file_atomic(bad_path, "evil"));
  auto report = s->verify(std::nullopt, VerifyMode::kReport);
  ASSERT_TRUE(report);
  ASSERT_EQ(report->size(), 1u);
  EXPECT_EQ((*report)[0].blob, bad);
  EXPECT_TRUE(util::exists(bad_path));
  auto repaired = s->verify(std::nullopt, VerifyMode::kRepair);
  ASSERT_TRUE(repaired);
  EXPECT_EQ(repaired->size(), 1u);
  EXPECT_FALSE(util::exists(bad_path));
  EXPECT_TRUE(s->has_blob(good));
  auto clean = s->verify(std::nullopt, VerifyMode::kReport);
  ASSERT_TRUE(clean);
  EXPECT_TRUE(clean->empty());
}

TEST(Store, SnapshotNeverLinksABlobThatIsNotCommitted) {
  // Invariant 1/2: a link or manifest entry can only name a committed blob.
  mctest::TempDir dir;
  auto s = Store::open(dir.path());
  ASSERT_TRUE(s);
  std::string missing = util::sha256_hex("never committed");
  SnapshotKey key{"hf://org/m", "org-m-0123", "c0ffee", ""};
  auto r = s->add_to_snapshot(key, {entry("a.bin", "never committed", "")},
                              {entry("a.bin", "never committed", missing)});
  ASSERT_FALSE(r);
  EXPECT_FALSE(util::exists(s->layout().snapshot_dir("org-m-0123", "c0ffee") / "a.bin"));
  EXPECT_FALSE(util::exists(s->layout().manifest("org-m-0123", "c0ffee")));
}
