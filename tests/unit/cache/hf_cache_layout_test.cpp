// The Hugging Face cache folder names and link targets, as huggingface_hub
// builds them (repo_folder_name, os.path.relpath of the blob from the link).
#include "cache/hf_cache_layout.hpp"

#include <gtest/gtest.h>

using namespace modelcache;
using namespace modelcache::cache;

TEST(HfCacheLayout, RepoFolderNamesRoundTrip) {
  EXPECT_EQ(hf_repo_folder({core::RepoType::kModel, "org/name"}), "models--org--name");
  EXPECT_EQ(hf_repo_folder({core::RepoType::kDataset, "org/name"}), "datasets--org--name");
  EXPECT_EQ(hf_repo_folder({core::RepoType::kModel, "gpt2"}), "models--gpt2");
  auto ds = parse_hf_repo_folder("datasets--org--my-data.v2");
  ASSERT_TRUE(ds);
  EXPECT_EQ(ds->type, core::RepoType::kDataset);
  EXPECT_EQ(ds->repo_id, "org/my-data.v2");
  EXPECT_EQ(ds->ref_text(), "hf://datasets/org/my-data.v2");
  EXPECT_EQ(parse_hf_repo_folder("models--gpt2")->repo_id, "gpt2");
  for (const char* bad : {".locks", "version.txt", "spaces--org--app", "models--", "models--a--b--c",
                          "models----b", "models--a--"}) {
    EXPECT_FALSE(parse_hf_repo_folder(bad)) << bad;
  }
}

TEST(HfCacheLayout, RepoArguments) {
  EXPECT_EQ(parse_hf_repo_arg("org/name")->ref_text(), "hf://org/name");
  EXPECT_EQ(parse_hf_repo_arg("hf://datasets/org/name")->type, core::RepoType::kDataset);
  EXPECT_EQ(parse_hf_repo_arg("models/org/name")->repo_id, "org/name");
  for (const char* bad : {"", "a/b/c", "/a", "a/", "org/name@main"}) EXPECT_FALSE(parse_hf_repo_arg(bad)) << bad;
}

TEST(HfCacheLayout, LinkTargetsClimbOneFolderPerSegment) {
  EXPECT_EQ(HfCacheLayout::link_target("config.json", "abc"), "../../blobs/abc");
  EXPECT_EQ(HfCacheLayout::link_target("onnx/model.onnx", "abc"), "../../../blobs/abc");
  EXPECT_EQ(HfCacheLayout::link_target("a/b/c.txt", "abc"), "../../../../blobs/abc");
  HfCacheLayout hf("/hf");
  auto repo = hf.repo_dir({core::RepoType::kModel, "org/name"});
  EXPECT_EQ(HfCacheLayout::ref_file(repo, "refs/pr/1"), "/hf/models--org--name/refs/refs/pr/1");
  auto link = HfCacheLayout::snapshot_dir(repo, "c0ffee") / "a/b/c.txt";
  EXPECT_EQ((link.parent_path() / HfCacheLayout::link_target("a/b/c.txt", "abc")).lexically_normal(),
            HfCacheLayout::blob(repo, "abc"));
}
