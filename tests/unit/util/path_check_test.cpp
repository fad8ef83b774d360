#include "util/path_check.hpp"

#include <gtest/gtest.h>

#include <string>

using modelcache::ErrorCode;
using modelcache::util::validate_origin_path;

TEST(PathCheck, AcceptsOrdinaryRelativePaths) {
  for (const char* p : {"config.json", "a/b/c.safetensors", "onnx/model.onnx", ".gitattributes",
                        "weird name with spaces.bin", "unicodé/файл.txt", "a..b", "..a"}) {
    EXPECT_TRUE(validate_origin_path(p)) << p;
  }
}

TEST(PathCheck, RejectsEveryHostileShape) {
  std::string nul("a\0b", 3);
  std::string long_name(10000, 'x');
  std::string long_segment = "a/" + std::string(256, 'y');
  for (const std::string& p : {std::string("../x"), std::string("a/../../x"), std::string("/etc/x"),
                               std::string("a\\b"), nul, long_name, long_segment, std::string(""),
                               std::string("a//b"), std::string("./a"), std::string("a/."),
                               std::string("a/"), std::string("..") , std::string("a\nb")}) {
    auto r = validate_origin_path(p);
    ASSERT_FALSE(r) << p.substr(0, 40);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidPath);
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "error must be one line";
    EXPECT_LT(r.error().message.size(), 300u) << "error must not echo a 10k name";
  }
}
