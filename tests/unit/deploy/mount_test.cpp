#include "deploy/mount.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "temp_dir.hpp"

using namespace modelcache;
using namespace modelcache::deploy;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A store look-alike: blobs/<name> files and a snapshot of relative links to them.
Snapshot make_snapshot(const fs::path& root, const std::vector<std::pair<std::string, std::string>>& files,
                       const std::string& id = "0123456789012345678901234567890123456789") {
  Snapshot s;
  s.model = "hf://org/model";
  s.snapshot_id = id;
  s.path = root / "snapshots" / id;
  fs::create_directories(root / "blobs");
  for (const auto& [path, content] : files) {
    const std::string blob_name = std::to_string(std::hash<std::string>{}(content));
    const fs::path blob = root / "blobs" / blob_name;
    std::ofstream(blob) << content;
    const fs::path link = s.path / path;
    fs::create_directories(link.parent_path());
    fs::create_symlink(fs::relative(blob, link.parent_path()), link);
    s.files.push_back(SnapshotFile{path, content.size(), blob_name});
  }
  return s;
}

}  // namespace

TEST(Mount, LinksAreAbsoluteToTheBlobs) {
  mctest::TempDir dir;
  Snapshot s = make_snapshot(dir / "cache", {{"config.json", "{}"}, {"unet/w.safetensors", "weights"}});
  const fs::path target = dir / "mnt/model";
  ASSERT_TRUE(mount_snapshot(s, target, MountMode::kLink));
  EXPECT_TRUE(fs::is_symlink(target / "unet/w.safetensors"));
  const fs::path link = fs::read_symlink(target / "unet/w.safetensors");
  EXPECT_TRUE(link.is_absolute());
  EXPECT_EQ(link.parent_path().filename(), "blobs");
  EXPECT_EQ(read(target / "unet/w.safetensors"), "weights");
  EXPECT_TRUE(fs::is_regular_file(target / kMountMarker));
  // Nothing but the mount is left in the parent: the temp tree was renamed.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "mnt"), fs::directory_iterator()), 1);
}

TEST(Mount, CopyGivesReadOnlyRegularFiles) {
  mctest::TempDir dir;
  Snapshot s = make_snapshot(dir / "cache", {{"a/b.bin", "bytes"}});
  const fs::path target = dir / "copy";
  ASSERT_TRUE(mount_snapshot(s, target, MountMode::kCopy));
  EXPECT_FALSE(fs::is_symlink(target / "a/b.bin"));
  EXPECT_EQ(read(target / "a/b.bin"), "bytes");
  struct stat st {};
  ASSERT_EQ(::stat((target / "a/b.bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
}

TEST(Mount, ReplacesItsOwnMountWithTheNewSnapshot) {
  mctest::TempDir dir;
  Snapshot v1 = make_snapshot(dir / "c1", {{"old.txt", "one"}, {"same.txt", "s"}});
  Snapshot v2 = make_snapshot(dir / "c2", {{"new.txt", "two"}, {"same.txt", "s"}},
                              "1111111111111111111111111111111111111111");
  const fs::path target = dir / "m";
  ASSERT_TRUE(mount_snapshot(v1, target, MountMode::kLink));
  ASSERT_TRUE(mount_snapshot(v2, target, MountMode::kLink));
  EXPECT_FALSE(fs::exists(target / "old.txt"));
  EXPECT_EQ(read(target / "new.txt"), "two");
  EXPECT_NE(read(target / kMountMarker).find(v2.snapshot_id), std::string::npos);
  // Link mode -> copy mode is a rebuild too.
  ASSERT_TRUE(mount_snapshot(v2, target, MountMode::kCopy));
  EXPECT_FALSE(fs::is_symlink(target / "new.txt"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 3);
}

TEST(Mount, UpToDateMountIsLeftAloneButRepairedWhenAFileIsGone) {
  mctest::TempDir dir;
  Snapshot s = make_snapshot(dir / "cache", {{"f", "x"}});
  const fs::path target = dir / "m";
  ASSERT_TRUE(mount_snapshot(s, target, MountMode::kLink));
  struct stat before {};
  ASSERT_EQ(::stat(target.c_str(), &before), 0);
  ASSERT_TRUE(mount_snapshot(s, target, MountMode::kLink));
  struct stat after {};
  ASSERT_EQ(::stat(target.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // not rebuilt
  fs::remove(target / "f");
  ASSERT_TRUE(mount_snapshot(s, target, MountMode::kLink));
  EXPECT_EQ(read(target / "f"), "x");
}

TEST(Mount, RefusesADirectoryItDidNotCreate) {
  mctest::TempDir dir;
  Snapshot s = make_snapshot(dir / "cache", {{"f", "x"}});
  fs::create_directories(dir / "user");
  std::ofstream(dir / "user/precious.txt") << "keep me";
  auto r = mount_snapshot(s, dir / "user", MountMode::kLink);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not created by modelcache"), std::string::npos);
  EXPECT_EQ(read(dir / "user/precious.txt"), "keep me");
  std::ofstream(dir / "file") << "a file";
  EXPECT_FALSE(mount_snapshot(s, dir / "file", MountMode::kLink));
  // An empty directory (a pre-created mount point) is taken over.
  fs::create_directories(dir / "empty");
  EXPECT_TRUE(mount_snapshot(s, dir / "empty", MountMode::kLink));
  EXPECT_EQ(read(dir / "empty/f"), "x");
}

TEST(Mount, RelativeTargetAndHostilePathsAreRefused) {
  mctest::TempDir dir;
  Snapshot s = make_snapshot(dir / "cache", {{"f", "x"}});
  EXPECT_FALSE(mount_snapshot(s, "relative/target", MountMode::kLink));
  s.files.push_back(SnapshotFile{"../escape", 1, "x"});
  EXPECT_FALSE(mount_snapshot(s, dir / "m", MountMode::kLink));
  EXPECT_FALSE(fs::exists(dir / "m"));
  EXPECT_FALSE(fs::exists(dir / "escape"));
  // The failed build left no temp tree behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}
