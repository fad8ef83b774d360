#include "source/file_source.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/model_ref.hpp"
#include "source/hf_source.hpp"
#include "source/http_source.hpp"
#include "temp_dir.hpp"
#include "util/hasher.hpp"

namespace modelcache::source {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, std::string_view content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

Result<Listing> list(const std::string& text) {
  auto ref = core::parse_ref(text);
  EXPECT_TRUE(ref) << text;
  return FileSource().list(*ref, {});
}

std::map<std::string, std::uint64_t> sizes(const Listing& l) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& f : l.files) out[f.path] = f.size;
  return out;
}

TEST(FileSourceTest, ListsNestedRegularFilesWithRelativePaths) {
  mctest::TempDir tmp;
  fs::path root = tmp / "model";
  write(root / "config.json", "{}");
  write(root / "a/b/c/deep.bin", "12345");
  write(root / "a/sibling.txt", "abc");
  fs::create_directories(root / "empty/dir");
  auto listing = list(root.string());
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_EQ(sizes(*listing), (std::map<std::string, std::uint64_t>{
                                 {"a/b/c/deep.bin", 5}, {"a/sibling.txt", 3}, {"config.json", 2}}));
  EXPECT_EQ(listing->files[0].path, "a/b/c/deep.bin");  // sorted
  EXPECT_EQ(listing->files[0].url, "file://" + (root / "a/b/c/deep.bin").string());
  EXPECT_FALSE(listing->files[0].digest);
  EXPECT_EQ(listing->revision, "");
  EXPECT_EQ(listing->snapshot_id.size(), 40u);
}

TEST(FileSourceTest, SnapshotIdHashesPathSizeAndMtime) {
  mctest::TempDir tmp;
  write(tmp / "m/x", "abc");
  auto first = list((tmp / "m").string());
  ASSERT_TRUE(first);
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "m/x").c_str(), &st), 0);
  std::int64_t ns = std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  std::string material = std::string("x") + '\0' + "3" + '\0' + std::to_string(ns) + "\n";
  EXPECT_EQ(first->snapshot_id, util::sha256_hex(material).substr(0, 40));
  auto again = list("file://" + (tmp / "m").string());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->snapshot_id, first->snapshot_id);
  write(tmp / "m/x", "abcd");
  auto changed = list((tmp / "m").string());
  ASSERT_TRUE(changed);
  EXPECT_NE(changed->snapshot_id, first->snapshot_id);
}

TEST(FileSourceTest, ReadsThroughFileLinksButNotDirectoryLinks) {
  mctest::TempDir tmp;
  write(tmp / "outside/secret.txt", "outside");
  write(tmp / "m/real.txt", "real");
  fs::create_symlink(tmp / "outside/secret.txt", tmp / "m/linked.txt");
  fs::create_directory_symlink(tmp / "outside", tmp / "m/linked_dir");
  fs::create_directory_symlink(tmp / "m", tmp / "m/loop");
  fs::create_symlink(tmp / "missing", tmp / "m/dangling");
  auto listing = list((tmp / "m").string());
  ASSERT_TRUE(listing) << listing.error().message;
  EXPECT_EQ(sizes(*listing),
            (std::map<std::string, std::uint64_t>{{"linked.txt", 7}, {"real.txt", 4}}));
}

TEST(FileSourceTest, SingleFileIsListedByItsBasename) {
  mctest::TempDir tmp;
  write(tmp / "dir/model.safetensors", "weights");
  auto listing = list((tmp / "dir/model.safetensors").string());
  ASSERT_TRUE(listing) << listing.error().message;
  ASSERT_EQ(listing->files.size(), 1u);
  EXPECT_EQ(listing->files[0].path, "model.safetensors");
  EXPECT_EQ(listing->files[0].size, 7u);
}

TEST(FileSourceTest, UrlIsPercentEncoded) {
  mctest::TempDir tmp;
  write(tmp / "m/my file%.txt", "x");
  auto listing = list((tmp / "m").string());
  ASSERT_TRUE(listing);
  EXPECT_EQ(listing->files[0].path, "my file%.txt");
  EXPECT_EQ(listing->files[0].url, "file://" + (tmp / "m").string() + "/my%20file%25.txt");
}

TEST(FileSourceTest, MissingPathIsNotFoundAndNamed) {
  mctest::TempDir tmp;
  auto listing = list((tmp / "nope").string());
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(listing.error().message.find((tmp / "nope").string()), std::string::npos);
}

// The listing of `dir` as an unprivileged user: root reads every directory, so
// when the tests run as root (CI does) the listing runs in a child process that
// gives the tree to `nobody` and drops to that user first.
// Exit status: 0 = kIo error, 1 = listed without error, 2 = another error.
int list_unprivileged_status(const fs::path& tree, const fs::path& dir) {
  auto status_of = [&]() -> int {
    auto listing = list(dir.string());
    if (listing) return 1;
    return listing.error().code == ErrorCode::kIo ? 0 : 2;
  };
  if (::geteuid() != 0) return status_of();
  constexpr uid_t kNobody = 65534;
  for (const auto& e : fs::recursive_directory_iterator(tree)) {
    EXPECT_EQ(::lchown(e.path().c_str(), kNobody, kNobody), 0);
  }
  EXPECT_EQ(::chown(tree.c_str(), kNobody, kNobody), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(3);
    ::_exit(status_of());
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 4;
}

TEST(FileSourceTest, UnreadableDirectoryIsAnError) {
  mctest::TempDir tmp;
  write(tmp / "m/locked/x", "x");
  fs::permissions(tmp / "m/locked", fs::perms::none);
  const int status = list_unprivileged_status(tmp.path(), tmp / "m");
  fs::permissions(tmp / "m/locked", fs::perms::owner_all);
  EXPECT_EQ(status, 0) << "1: listed an unreadable directory; 2: wrong error code; 3: could not drop to nobody";
}

TEST(MakeSourceTest, PicksTheOriginByReferenceKind) {
  core::Config config;
  auto kind_of = [&](const char* text) -> const Source* {
    static std::unique_ptr<Source> keep;
    auto source = make_source(*core::parse_ref(text), config);
    EXPECT_TRUE(source) << text;
    keep = std::move(*source);
    return keep.get();
  };
  EXPECT_NE(dynamic_cast<const HfSource*>(kind_of("hf://org/name")), nullptr);
  EXPECT_NE(dynamic_cast<const HfSource*>(kind_of("hf://datasets/org/name@v1")), nullptr);
  EXPECT_NE(dynamic_cast<const HttpSource*>(kind_of("https://h/f.bin")), nullptr);
  EXPECT_NE(dynamic_cast<const FileSource*>(kind_of("/tmp")), nullptr);
  EXPECT_NE(dynamic_cast<const FileSource*>(kind_of("file:///tmp")), nullptr);
}

}  // namespace
}  // namespace modelcache::source
