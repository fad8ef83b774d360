#include "util/glob.hpp"

#include <gtest/gtest.h>

using modelcache::util::glob_match;
using modelcache::util::is_selected;

TEST(Glob, StarCrossesSlashesLikeHuggingFaceHub) {
  EXPECT_TRUE(glob_match("*.json", "config.json"));
  EXPECT_TRUE(glob_match("*.json", "sub/dir/config.json"));
  EXPECT_FALSE(glob_match("*.json", "model.safetensors"));
  EXPECT_TRUE(glob_match("onnx/", "onnx/model.onnx"));
  EXPECT_FALSE(glob_match("onnx/", "other/model.onnx"));
  EXPECT_TRUE(glob_match("model-0000?-of-00002.safetensors", "model-00001-of-00002.safetensors"));
}

TEST(Glob, IgnoreWinsOverAllow) {
  std::vector<std::string> allow{"*.safetensors", "*.json"};
  std::vector<std::string> ignore{"*fp16*"};
  EXPECT_TRUE(is_selected("model.safetensors", allow, ignore));
  EXPECT_FALSE(is_selected("model.fp16.safetensors", allow, ignore));
  EXPECT_FALSE(is_selected("model.bin", allow, ignore));
  EXPECT_TRUE(is_selected("anything", {}, {}));
  EXPECT_FALSE(is_selected("x.bin", {}, {"*.bin"}));
}
