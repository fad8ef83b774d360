#include "transfer/range_set.hpp"

#include <gtest/gtest.h>

namespace modelcache::transfer {
namespace {

using Ranges = std::vector<ByteRange>;

TEST(RangeSet, MergesOverlappingAndAdjacentRanges) {
  RangeSet s;
  s.add({10, 20});
  s.add({30, 40});
  EXPECT_EQ(s.ranges(), (Ranges{{10, 20}, {30, 40}}));
  s.add({20, 30});  // adjacent on both sides
  EXPECT_EQ(s.ranges(), (Ranges{{10, 40}}));
  s.add({5, 12});
  s.add({38, 50});
  EXPECT_EQ(s.ranges(), (Ranges{{5, 50}}));
  s.add({0, 100});
  EXPECT_EQ(s.ranges(), (Ranges{{0, 100}}));
  EXPECT_EQ(s.total(), 100u);
}

TEST(RangeSet, IgnoresEmptyRanges) {
  RangeSet s;
  s.add({5, 5});
  s.add({7, 3});
  EXPECT_TRUE(s.empty());
}

TEST(RangeSet, ContiguousEndAndCovers) {
  RangeSet s;
  s.add({0, 10});
  s.add({20, 30});
  EXPECT_EQ(s.contiguous_end(0), 10u);
  EXPECT_EQ(s.contiguous_end(5), 10u);
  EXPECT_EQ(s.contiguous_end(10), 10u);
  EXPECT_EQ(s.contiguous_end(15), 15u);
  EXPECT_EQ(s.contiguous_end(20), 30u);
  EXPECT_TRUE(s.covers({2, 10}));
  EXPECT_FALSE(s.covers({2, 11}));
  EXPECT_FALSE(s.covers({9, 21}));
}

TEST(RangeSet, GapsAreTheComplement) {
  RangeSet s;
  EXPECT_EQ(s.gaps(50), (Ranges{{0, 50}}));
  s.add({0, 10});
  s.add({20, 30});
  EXPECT_EQ(s.gaps(50), (Ranges{{10, 20}, {30, 50}}));
  EXPECT_EQ(s.gaps(25), (Ranges{{10, 20}}));
  s.add({30, 50});
  EXPECT_EQ(s.gaps(50), (Ranges{{10, 20}}));
}

}  // namespace
}  // namespace modelcache::transfer
