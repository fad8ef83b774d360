// clone_file (hardlink, else reflink, else copy; published by rename) and
// hash_file (sha256 and the git blob sha1 in one read).
#include "store/file_clone.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "store/file_hash.hpp"
#include "temp_dir.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/hasher.hpp"

using namespace modelcache;
using namespace modelcache::store;

namespace {
ino_t inode(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_ino;
}
}  // namespace

TEST(FileHash, Sha256AndGitBlobSha1) {
  mctest::TempDir dir;
  ASSERT_TRUE(util::write_file_atomic(dir / "f", "hello world\n"));
  auto d = hash_file(dir / "f", GitSha1::kCompute);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->size, 12u);
  EXPECT_EQ(d->sha256, util::sha256_hex("hello world\n"));
  EXPECT_EQ(d->git_sha1, "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");  // git hash-object
  EXPECT_TRUE(hash_file(dir / "f")->git_sha1.empty());
  ASSERT_EQ(::symlink("f", (dir / "link").c_str()), 0);
  EXPECT_FALSE(hash_file(dir / "link")) << "a symlink is not followed";
}

TEST(FileClone, HardlinkSharesTheInodeOtherwiseOwnFile) {
  mctest::TempDir dir;
  ASSERT_TRUE(util::write_file_atomic(dir / "src", "content"));
  auto linked = clone_file(dir / "src", dir / "a", HardlinkUse::kFirst);
  ASSERT_TRUE(linked) << linked.error().message;
  EXPECT_EQ(linked->method, CloneMethod::kHardlink);
  EXPECT_EQ(linked->bytes_copied, 0u);
  EXPECT_EQ(inode(dir / "a"), inode(dir / "src"));
  auto own = clone_file(dir / "src", dir / "b", HardlinkUse::kNever);
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_NE(own->method, CloneMethod::kHardlink);
  EXPECT_EQ(own->bytes_copied, own->method == CloneMethod::kCopy ? 7u : 0u);
  EXPECT_NE(inode(dir / "b"), inode(dir / "src"));
  EXPECT_EQ(*util::read_file(dir / "b"), "content");
  // Replaces what the name held, and leaves no temporary behind.
  ASSERT_TRUE(util::write_file_atomic(dir / "c", "old"));
  ASSERT_TRUE(clone_file(dir / "src", dir / "c", HardlinkUse::kNever));
  EXPECT_EQ(*util::read_file(dir / "c"), "content");
  EXPECT_EQ(util::list_dir(dir.path()), (std::vector<std::string>{"a", "b", "c", "src"}));
  EXPECT_FALSE(clone_file(dir / "missing", dir / "d", HardlinkUse::kFirst));
  EXPECT_EQ(util::list_dir(dir.path()).size(), 4u);
}
