// File selection: a package's exact paths combine with --allow/--ignore, and a
// selection that may be empty (the package manifest a model may lack) is not an error.
#include "cache/selection.hpp"

#include <gtest/gtest.h>

using namespace modelcache;
using namespace modelcache::cache;

namespace {

std::vector<source::RemoteFile> listing(std::vector<std::string> paths) {
  std::vector<source::RemoteFile> out;
  for (auto& p : paths) out.push_back(source::RemoteFile{.path = std::move(p)});
  return out;
}

}  // namespace

TEST(Selection, ExactPathsCombineWithAllowAndIgnore) {
  auto files = listing({"a.onnx", "b.onnx", "config.json", "x[1].bin"});
  SelectionRules rules{{}, {}, {"a.onnx", "config.json", "x[1].bin"}};
  auto sel = select_files(files, rules, "m");
  ASSERT_TRUE(sel) << sel.error().message;
  EXPECT_EQ(*sel, (std::vector<std::size_t>{0, 2, 3}));  // "x[1].bin" is a path, not a glob
  rules.ignore = {"*.json"};
  EXPECT_EQ(*select_files(files, rules, "m"), (std::vector<std::size_t>{0, 3}));
  rules.allow = {"b.*"};
  auto none = select_files(files, rules, "m");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("the package's 3 file(s) --allow 'b.*' --ignore '*.json'"), std::string::npos)
      << none.error().message;
  EXPECT_TRUE(selects(rules, "zzz") == false);
}

TEST(Selection, EmptyAllowedIsNotAnError) {
  auto files = listing({"a.onnx"});
  SelectionRules rules{{}, {}, {"modelcache-packages.json"}, EmptySelection::kAllowed};
  auto sel = select_files(files, rules, "m");
  ASSERT_TRUE(sel);
  EXPECT_TRUE(sel->empty());
  rules.empty = EmptySelection::kError;
  EXPECT_FALSE(select_files(files, rules, "m"));
}
