#include "transfer/journal.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "temp_dir.hpp"
#include "util/fs.hpp"

namespace modelcache::transfer {
namespace {

using Ranges = std::vector<ByteRange>;

void append_raw(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::app | std::ios::binary) << text;
}

// A journal at `path` with one record, [0, 100), appended the way the engine does.
void write_one_record(const std::filesystem::path& path, const JournalHeader& h) {
  auto j = Journal::create(path, h, {});
  ASSERT_TRUE(j) << j.error().message;
  ASSERT_TRUE(j->append({0, 100}));
}

TEST(Journal, RecordsSurviveAndAreCoalescedOnLoad) {
  mctest::TempDir dir;
  const auto path = dir / "f.journal";
  const JournalHeader h{1000, "abc"};
  {
    auto j = Journal::create(path, h, {});
    ASSERT_TRUE(j) << j.error().message;
    ASSERT_TRUE(j->append({0, 100}));
    ASSERT_TRUE(j->append({500, 600}));
    ASSERT_TRUE(j->append({100, 200}));
  }
  EXPECT_EQ(load_journal(path, h).ranges(), (Ranges{{0, 200}, {500, 600}}));
}

TEST(Journal, IgnoresATornLastRecord) {
  mctest::TempDir dir;
  const auto path = dir / "f.journal";
  const JournalHeader h{1000, "abc"};
  write_one_record(path, h);
  std::string intact = *util::read_file(path);
  // A record cut off before its newline.
  append_raw(path, "100 200 ");
  EXPECT_EQ(load_journal(path, h).ranges(), (Ranges{{0, 100}}));
  // A complete-looking record with a wrong check (bytes of a torn page).
  std::ofstream(path, std::ios::trunc | std::ios::binary) << intact << "100 900 00000000\n";
  EXPECT_EQ(load_journal(path, h).ranges(), (Ranges{{0, 100}}));
  // A record naming bytes past the end of the file.
  std::ofstream(path, std::ios::trunc | std::ios::binary) << intact;
  {
    auto j = Journal::create(dir / "other", JournalHeader{5000, "abc"}, {});
    ASSERT_TRUE(j);
    ASSERT_TRUE(j->append({900, 2000}));
  }
  std::string other = *util::read_file(dir / "other");
  append_raw(path, other.substr(other.find('\n') + 1));
  EXPECT_EQ(load_journal(path, h).ranges(), (Ranges{{0, 100}}));
}

TEST(Journal, RejectsAJournalOfAnotherRequest) {
  mctest::TempDir dir;
  const auto path = dir / "f.journal";
  write_one_record(path, JournalHeader{1000, "abc"});
  EXPECT_TRUE(load_journal(path, JournalHeader{1000, "abd"}).empty());
  EXPECT_TRUE(load_journal(path, JournalHeader{1001, "abc"}).empty());
  EXPECT_TRUE(load_journal(dir / "missing", JournalHeader{1000, "abc"}).empty());
  std::ofstream(path, std::ios::trunc) << "garbage\n0 100 12345678\n";
  EXPECT_TRUE(load_journal(path, JournalHeader{1000, "abc"}).empty());
}

TEST(Journal, CreateRewritesCompactlySoAppendsNeverFollowATornRecord) {
  mctest::TempDir dir;
  const auto path = dir / "f.journal";
  const JournalHeader h{1000, "abc"};
  write_one_record(path, h);
  append_raw(path, "100 2");  // torn
  RangeSet loaded = load_journal(path, h);
  {
    auto j = Journal::create(path, h, loaded);
    ASSERT_TRUE(j);
    ASSERT_TRUE(j->append({300, 400}));
  }
  EXPECT_EQ(load_journal(path, h).ranges(), (Ranges{{0, 100}, {300, 400}}));
  // No temporary file is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

}  // namespace
}  // namespace modelcache::transfer
