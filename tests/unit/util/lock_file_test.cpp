#include "util/lock_file.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "temp_dir.hpp"

using namespace modelcache::util;

TEST(LockFile, ExclusiveExcludesWithinOneProcess) {
  mctest::TempDir dir;
  auto a = LockFile::acquire(dir / "x.lock", LockKind::kExclusive);
  ASSERT_TRUE(a);
  auto b = LockFile::try_acquire(dir / "x.lock", LockKind::kExclusive);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->has_value()) << "second exclusive holder";
}

TEST(LockFile, ReleasedWhenHolderDies) {
  mctest::TempDir dir;
  auto path = dir / "x.lock";
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  if (child == 0) {
    auto l = LockFile::acquire(path, LockKind::kExclusive);
    char c = 1;
    if (write(ready[1], &c, 1) != 1) _exit(3);
    pause();  // killed by the parent while holding the lock
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  auto busy = LockFile::try_acquire(path, LockKind::kExclusive);
  ASSERT_TRUE(busy);
  EXPECT_FALSE(busy->has_value());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  auto free_now = LockFile::try_acquire(path, LockKind::kExclusive);
  ASSERT_TRUE(free_now);
  EXPECT_TRUE(free_now->has_value()) << "lock of a killed holder must be released";
}

TEST(LockFile, SharedHoldersCoexist) {
  mctest::TempDir dir;
  auto a = LockFile::acquire(dir / "s.lock", LockKind::kShared);
  auto b = LockFile::try_acquire(dir / "s.lock", LockKind::kShared);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->has_value());
  auto c = LockFile::try_acquire(dir / "s.lock", LockKind::kExclusive);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->has_value());
}
