// Issue 4 item 5: two model ids never share a folder, whatever their slugs.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/model_ref.hpp"

using namespace modelcache::core;

namespace {

std::string folder(const std::string& ref) {
  auto r = parse_ref(ref);
  EXPECT_TRUE(r) << ref;
  return r ? r->folder_name() : std::string();
}

bool safe_folder(const std::string& f) {
  if (f.empty() || f.size() > 64 + 17 || f.front() == '.' || f.front() == '-') return false;
  for (char c : f) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

TEST(FolderName, LookAlikeIdsGetDistinctSafeFolders) {
  const std::vector<std::string> refs = {
      "hf://Org/Model", "hf://org/model", "hf://ORG/MODEL", "hf://org-model",
      "hf://a/b-c", "hf://a-b/c", "hf://a/b_c", "hf://datasets/org/model",
      // Unicode look-alikes: Cyrillic о (U+043E) for Latin o, fullwidth ｏ (U+FF4F),
      // and é precomposed (NFC, U+00E9) vs e + combining acute (NFD, U+0301).
      "file:///models/org/model", "file:///models/org/m\xD0\xBE" "del",
      "file:///models/org/m\xEF\xBD\x8F" "del", "file:///models/caf\xC3\xA9",
      "file:///models/cafe\xCC\x81", "file:///models/CAFE", "file:///models/cafe",
      "https://example.com/org/model", "https://example.com/org/model?v=1",
      "s3://bucket/org/model", "gs://bucket/org/model", "az://account/container/org/model"};
  std::set<std::string> seen;
  for (const auto& ref : refs) {
    std::string f = folder(ref);
    EXPECT_TRUE(safe_folder(f)) << ref << " -> " << f;
    EXPECT_TRUE(seen.insert(f).second) << ref << " shares folder " << f;
  }
  // The Cyrillic and Latin spellings slug to text that is not the same bytes,
  // but even ids whose slugs are equal differ in the hash part.
  EXPECT_EQ(folder("hf://a/b-c").substr(0, 5), folder("hf://a-b/c").substr(0, 5));
}

TEST(FolderName, VeryLongIdsStayShortAndDistinct) {
  std::string base = "file:///" + std::string(3000, 'x');
  std::string a = folder(base + "/a");
  std::string b = folder(base + "/b");
  EXPECT_NE(a, b) << "ids that differ only after the slug's 64 characters";
  EXPECT_TRUE(safe_folder(a)) << a;
  EXPECT_LE(a.size(), 64u + 17u);
}

TEST(FolderName, HostileCharactersNeverReachTheName) {
  for (const std::string ref : {"file:///a/../../etc", "file:///..", "file:///a/.hidden",
                                "https://h/..%2F..%2Fetc", "file:///a/b c/\xE2\x80\xAE" "txt"}) {
    auto r = parse_ref(ref);
    if (!r) continue;  // refused at parse time is fine too
    std::string f = r->folder_name();
    EXPECT_TRUE(safe_folder(f)) << ref << " -> " << f;
    // One path component that is never "." or ".." (it ends in "-<16 hex>") and
    // never hidden: ".." inside it, as in "h-..-2f", is only text.
    EXPECT_NE(f.front(), '.') << f;
    EXPECT_EQ(f[f.size() - 17], '-') << f;
  }
}
