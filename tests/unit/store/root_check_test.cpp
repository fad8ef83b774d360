// Who may plant files in the cache: the rule of store/root_check.hpp.
#include "store/root_check.hpp"

#include <gtest/gtest.h>

using namespace modelcache::store;

namespace {
constexpr uid_t kMe = 1000;
constexpr uid_t kOther = 65534;
constexpr gid_t kStaff = 50;

bool ok(DirOwner o, RootPolicy p = {}, bool private_group = false) {
  return check_dir_owner("/c", o, kMe, private_group, p).has_value();
}
std::string why(DirOwner o, RootPolicy p = {}) {
  auto s = check_dir_owner("/c", o, kMe, false, p);
  return s ? "" : s.error().message;
}
}  // namespace

TEST(RootCheck, OwnDirectoryIsAccepted) {
  EXPECT_TRUE(ok({kMe, kStaff, 0755}));
  EXPECT_TRUE(ok({kMe, kStaff, 0700}));
}

TEST(RootCheck, AnotherUsersDirectoryIsRefusedWithWhatToDo) {
  EXPECT_FALSE(ok({kOther, kStaff, 0755}));
  EXPECT_FALSE(ok({0, 0, 0755})) << "root's directory, used by another user";
  std::string m = why({kOther, kStaff, 0755});
  EXPECT_NE(m.find("/c is owned by uid 65534"), std::string::npos) << m;
  EXPECT_NE(m.find("mode 0755"), std::string::npos) << m;
  EXPECT_NE(m.find("MODELCACHE_SHARED_GROUP"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
  EXPECT_TRUE(ok({kOther, kStaff, 0755}, {ForeignRoot::kAllow, {}}));
}

TEST(RootCheck, RootItselfIsRefusedAnotherUsersDirectory) {
  auto s = check_dir_owner("/c", {kOther, kStaff, 0755}, 0, false, {});
  EXPECT_FALSE(s) << "uid 0 is not exempt: that is the hostile case";
}

TEST(RootCheck, WorldWritableNeedsTheStickyBit) {
  EXPECT_FALSE(ok({kMe, kStaff, 0777}));
  EXPECT_NE(why({kMe, kStaff, 0777}).find("world-writable (mode 0777) without the sticky bit"),
            std::string::npos);
  EXPECT_TRUE(ok({kMe, kStaff, 01777})) << "others cannot remove or rename what we create";
  EXPECT_FALSE(ok({kOther, kStaff, 01777})) << "/tmp itself is not a cache of ours";
  EXPECT_FALSE(ok({kMe, kStaff, 0777}, {ForeignRoot::kRefuse, kStaff}))
      << "shared mode does not open it to everyone";
}

TEST(RootCheck, GroupWritableOnlyForTheSharedOrAPrivateGroup) {
  EXPECT_FALSE(ok({kMe, kStaff, 0775}));
  EXPECT_TRUE(ok({kMe, kStaff, 0775}, {}, /*private_group=*/true));
  EXPECT_TRUE(ok({kMe, kStaff, 02770}, {ForeignRoot::kRefuse, kStaff}));
  EXPECT_FALSE(ok({kMe, kStaff + 1, 02770}, {ForeignRoot::kRefuse, kStaff}));
}

TEST(RootCheck, SharedModeAcceptsAnotherMembersDirectory) {
  EXPECT_TRUE(ok({kOther, kStaff, 02770}, {ForeignRoot::kRefuse, kStaff}));
  EXPECT_FALSE(ok({kOther, kStaff + 1, 02770}, {ForeignRoot::kRefuse, kStaff}));
}
