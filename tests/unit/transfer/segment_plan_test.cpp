#include "transfer/segment_plan.hpp"

#include <gtest/gtest.h>

namespace modelcache::transfer {
namespace {

ByteRange range_of(const SegmentPlan& p, SegmentId id) {
  return {p.segment(id).begin, p.segment(id).end};
}

TEST(SegmentPlan, CutsAFreshFileIntoPiecesFromTheStart) {
  SegmentPlan p(100, 25);
  std::vector<ByteRange> got;
  while (auto id = p.claim_missing()) got.push_back(range_of(p, *id));
  EXPECT_EQ(got, (std::vector<ByteRange>{{0, 25}, {25, 50}, {50, 75}, {75, 100}}));
}

TEST(SegmentPlan, NeverLeavesASliver) {
  SegmentPlan p(110, 100);  // 10 left after one piece: take it along
  auto id = p.claim_missing();
  ASSERT_TRUE(id);
  EXPECT_EQ(range_of(p, *id), (ByteRange{0, 110}));
  EXPECT_FALSE(p.claim_missing());
}

TEST(SegmentPlan, ClaimsOnlyWhatTheJournalDoesNotHave) {
  SegmentPlan p(100, 1000);
  p.mark_done({0, 30});
  p.mark_done({60, 80});
  auto a = p.claim_missing();
  auto b = p.claim_missing();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(range_of(p, *a), (ByteRange{30, 60}));
  EXPECT_EQ(range_of(p, *b), (ByteRange{80, 100}));
  EXPECT_FALSE(p.claim_missing());
}

TEST(SegmentPlan, SplitGivesTheUpperHalfOfTheLargestRemainingRange) {
  SegmentPlan p(100, 50);
  SegmentId a = *p.claim_missing();  // [0,50)
  SegmentId b = *p.claim_missing();  // [50,100)
  p.advance(a, 10);                  // a has 40 left, b has 50 left
  auto victim = p.largest_remaining(1);
  ASSERT_TRUE(victim);
  EXPECT_EQ(*victim, b);
  SegmentId thief = p.split(b);
  EXPECT_EQ(range_of(p, b), (ByteRange{50, 75}));
  EXPECT_EQ(range_of(p, thief), (ByteRange{75, 100}));
  // Now a (40 left) is the largest; the split point is measured from its position.
  EXPECT_EQ(*p.largest_remaining(1), a);
  SegmentId t2 = p.split(a);
  EXPECT_EQ(range_of(p, a), (ByteRange{0, 30}));
  EXPECT_EQ(range_of(p, t2), (ByteRange{30, 50}));
}

TEST(SegmentPlan, SplitNeverCutsIntoTheChunkInFlight) {
  SegmentPlan p(100, 100);
  SegmentId a = *p.claim_missing();  // [0,100)
  p.set_fence(a, 80);                // a request for [0,80) is out
  p.advance(a, 10);
  // The midpoint of what is left (55) lies inside the request: cut at its end.
  EXPECT_EQ(p.segment(a).stealable(), 20u);
  SegmentId t = p.split(a);
  EXPECT_EQ(range_of(p, a), (ByteRange{0, 80}));
  EXPECT_EQ(range_of(p, t), (ByteRange{80, 100}));
  // Nothing beyond the chunk is left: not a candidate any more.
  EXPECT_EQ(p.segment(a).stealable(), 0u);
  EXPECT_EQ(p.largest_remaining(1), std::optional<SegmentId>(t));
  // The thief's own chunk covers its range: nothing to steal anywhere.
  p.set_fence(t, 100);
  EXPECT_FALSE(p.largest_remaining(1));
  // A request that ends early (a retry) releases the fence.
  p.set_fence(a, p.segment(a).pos);
  EXPECT_EQ(p.segment(a).split_point(), 45u);
}

TEST(SegmentPlan, PrefersTheRangeThatGivesTheThiefMost) {
  SegmentPlan p(200, 100);
  SegmentId a = *p.claim_missing();  // [0,100): 100 left, but 90 of it requested
  SegmentId b = *p.claim_missing();  // [100,200): 60 left, none requested
  p.set_fence(a, 90);
  p.advance(b, 40);
  EXPECT_EQ(p.largest_remaining(1), std::optional<SegmentId>(b));
}

TEST(SegmentPlan, DoesNotSplitBelowTheMinimum) {
  SegmentPlan p(100, 100);
  SegmentId a = *p.claim_missing();
  p.advance(a, 70);
  EXPECT_FALSE(p.largest_remaining(31));
  EXPECT_TRUE(p.largest_remaining(30));
}

TEST(SegmentPlan, RetiredSegmentsKeepWhatTheyWrote) {
  SegmentPlan p(100, 100);
  SegmentId a = *p.claim_missing();
  p.advance(a, 40);
  p.retire(a);  // abandoned halfway
  EXPECT_EQ(p.done().ranges(), (std::vector<ByteRange>{{0, 40}}));
  EXPECT_FALSE(p.complete());
  SegmentId b = *p.claim_missing();
  EXPECT_EQ(range_of(p, b), (ByteRange{40, 100}));
  p.advance(b, 1000);  // clamped at the end
  EXPECT_EQ(p.segment(b).pos, 100u);
  EXPECT_FALSE(p.complete());  // still live
  p.retire(b);
  EXPECT_TRUE(p.complete());
  EXPECT_EQ(p.written_bytes(), 100u);
}

TEST(SegmentPlan, UnknownSizeIsOneOpenStream) {
  SegmentPlan p(kOpenEnd, 10);
  SegmentId a = *p.claim_missing();
  EXPECT_FALSE(p.claim_missing());
  EXPECT_EQ(p.segment(a).end, kOpenEnd);
  EXPECT_FALSE(p.largest_remaining(0));  // never split
  p.advance(a, 1234);
  p.learn_size(1234);
  p.retire(a);
  EXPECT_TRUE(p.complete());
  EXPECT_EQ(p.size(), 1234u);
}

}  // namespace
}  // namespace modelcache::transfer
