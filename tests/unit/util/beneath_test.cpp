// Writes below a registered cache root never follow a planted symlink.
#include "util/beneath.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "temp_dir.hpp"
#include "util/atomic_file.hpp"
#include "util/lock_file.hpp"

using namespace modelcache::util;
namespace fs = std::filesystem;

namespace {

// A root registered with confine_beneath() and a directory outside it holding
// one file, whose content and mtime must never change.
struct Planted {
  mctest::TempDir tmp;
  fs::path root = tmp / "root";
  fs::path outside = tmp / "outside";
  fs::path victim = outside / "victim";
  struct stat before {};

  Planted() {
    fs::create_directories(root / "tmp");
    fs::create_directories(outside);
    EXPECT_TRUE(write_file_atomic(victim, "precious\n"));
    ::stat(victim.c_str(), &before);
    confine_beneath(root);
  }
  void expect_outside_untouched() {
    struct stat after {};
    ASSERT_EQ(::stat(victim.c_str(), &after), 0);
    EXPECT_EQ(*read_file(victim), "precious\n");
    EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    EXPECT_EQ(after.st_mode, before.st_mode);
    EXPECT_EQ(list_dir(outside), std::vector<std::string>{"victim"});
  }
};

void expect_planted_error(const modelcache::Error& e, const fs::path& link) {
  EXPECT_NE(e.message.find("refusing to follow the symlink " + link.string()), std::string::npos)
      << e.message;
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
}

}  // namespace

TEST(Beneath, PlantedLeafLinkIsNeverOpenedForWriting) {
  Planted p;
  fs::path link = p.root / "tmp" / "k.part";
  fs::create_symlink(p.victim, link);
  auto fd = open_beneath(link, O_RDWR | O_CREAT | O_TRUNC);
  ASSERT_FALSE(fd);
  expect_planted_error(fd.error(), link);
  auto lock = LockFile::acquire(link, LockKind::kExclusive);
  ASSERT_FALSE(lock);
  expect_planted_error(lock.error(), link);
  p.expect_outside_untouched();
}

TEST(Beneath, PlantedHardLinkIsNeitherTruncatedNorWritten) {
  Planted p;
  fs::path part = p.root / "tmp" / "k.part";
  fs::create_hard_link(p.victim, part);
  auto fd = open_beneath(part, O_RDWR | O_CREAT | O_TRUNC);
  ASSERT_FALSE(fd);
  EXPECT_NE(fd.error().message.find("refusing to write " + part.string()), std::string::npos)
      << fd.error().message;
  p.expect_outside_untouched();
}

TEST(Beneath, PlantedDirectoryLinkIsNeverWalkedThrough) {
  Planted p;
  fs::path link = p.root / "models";
  fs::create_directory_symlink(p.outside, link);
  auto made = make_dirs(link / "x" / "snapshots");
  ASSERT_FALSE(made);
  expect_planted_error(made.error(), link);
  auto atomic = write_file_atomic(link / "victim", "overwritten");
  ASSERT_FALSE(atomic);
  expect_planted_error(atomic.error(), link);
  EXPECT_FALSE(remove_file(link / "victim"));
  EXPECT_FALSE(rename_path(p.root / "tmp", link / "victim"));
  EXPECT_FALSE(make_symlink("anything", link / "new"));
  p.expect_outside_untouched();
}

TEST(Beneath, RemoveTreeRemovesLinksNotTheirTargets) {
  Planted p;
  fs::create_directories(p.root / "snap" / "sub");
  fs::create_directory_symlink(p.outside, p.root / "snap" / "sub" / "dir-link");
  fs::create_symlink(p.victim, p.root / "snap" / "file-link");
  ASSERT_TRUE(remove_tree(p.root / "snap"));
  EXPECT_FALSE(modelcache::util::exists(p.root / "snap"));
  p.expect_outside_untouched();
}

TEST(Beneath, OrdinaryWritesStillWork) {
  Planted p;
  ASSERT_TRUE(make_dirs(p.root / "models" / "m" / "refs"));
  ASSERT_TRUE(write_file_atomic(p.root / "models" / "m" / "refs" / "main", "x"));
  ASSERT_TRUE(rename_path(p.root / "models" / "m" / "refs" / "main", p.root / "tmp" / "moved"));
  EXPECT_EQ(*read_file(p.root / "tmp" / "moved"), "x");
  ASSERT_TRUE(make_symlink("moved", p.root / "tmp" / "l"));
  ASSERT_TRUE(remove_file(p.root / "tmp" / "l"));
  ASSERT_TRUE(remove_file(p.root / "nowhere" / "missing"));
  ASSERT_TRUE(remove_tree(p.root / "models"));
  EXPECT_FALSE(modelcache::util::exists(p.root / "models"));
}

TEST(Beneath, SharedModeGivesTheGroupTheOwnersBits) {
  EXPECT_EQ(file_mode(0644), 0644u);
  EXPECT_EQ(dir_mode(), 0755u);
  share_with_group(::getegid());
  EXPECT_EQ(file_mode(0644), 0664u);
  EXPECT_EQ(file_mode(0444), 0444u);
  EXPECT_EQ(dir_mode(), 02770u);
  Planted p;
  auto fd = open_beneath(p.root / "tmp" / "f", O_RDWR | O_CREAT, 0644);
  ASSERT_TRUE(fd);
  struct stat st {};
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0664u) << "despite the umask";
  ASSERT_TRUE(make_dirs(p.root / "models" / "m"));
  ASSERT_EQ(::stat((p.root / "models" / "m").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02770u);
  share_with_group(std::nullopt);
}
