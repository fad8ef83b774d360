// MODELCACHE_SHARED_GROUP and MODELCACHE_ALLOW_SHARED_ROOT (issue 4 item 5).
#include <grp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/config.hpp"

using namespace modelcache::core;

namespace {
struct SharedEnv {
  SharedEnv() { clear(); }
  ~SharedEnv() { clear(); }
  static void clear() {
    unsetenv("MODELCACHE_SHARED_GROUP");
    unsetenv("MODELCACHE_ALLOW_SHARED_ROOT");
  }
};
}  // namespace

TEST(SharedConfig, GroupByNameOrGid) {
  SharedEnv env;
  auto none = Config::from_env("/c");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->shared_group);
  EXPECT_FALSE(none->allow_shared_root);

  const group* root_group = ::getgrgid(0);
  ASSERT_NE(root_group, nullptr);
  setenv("MODELCACHE_SHARED_GROUP", root_group->gr_name, 1);
  auto by_name = Config::from_env("/c");
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->shared_group, 0u);
  setenv("MODELCACHE_SHARED_GROUP", "100", 1);
  EXPECT_EQ(Config::from_env("/c")->shared_group, 100u);
  setenv("MODELCACHE_ALLOW_SHARED_ROOT", "1", 1);
  EXPECT_TRUE(Config::from_env("/c")->allow_shared_root);
}

TEST(SharedConfig, UnknownGroupIsAOneLineError) {
  SharedEnv env;
  setenv("MODELCACHE_SHARED_GROUP", "no-such-group-xyz", 1);
  auto c = Config::from_env("/c");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("MODELCACHE_SHARED_GROUP='no-such-group-xyz' is not a group"),
            std::string::npos)
      << c.error().message;
  setenv("MODELCACHE_SHARED_GROUP", "-5", 1);
  EXPECT_FALSE(Config::from_env("/c"));
}
