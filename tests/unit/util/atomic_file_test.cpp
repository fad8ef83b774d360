#include "util/atomic_file.hpp"

#include <gtest/gtest.h>

#include "temp_dir.hpp"
#include "util/fs.hpp"

using namespace modelcache::util;

TEST(AtomicFile, InvisibleUntilCommit) {
  mctest::TempDir dir;
  auto path = dir / "f.json";
  {
    auto f = AtomicFile::create(path);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->write("hello"));
    EXPECT_FALSE(modelcache::util::exists(path));
    ASSERT_TRUE(f->commit());
  }
  EXPECT_EQ(*read_file(path), "hello");
}

TEST(AtomicFile, AbandonedLeavesNothingAndKeepsOldContent) {
  mctest::TempDir dir;
  auto path = dir / "f.json";
  ASSERT_TRUE(write_file_atomic(path, "old"));
  {
    auto f = AtomicFile::create(path);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->write("new but never committed"));
  }
  EXPECT_EQ(*read_file(path), "old");
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1) << "temporary file left behind";
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNotAThrow) {
  mctest::TempDir dir;
  auto r = write_file_atomic(dir / "no/such/dir/f", "x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no/such/dir"), std::string::npos);
}
