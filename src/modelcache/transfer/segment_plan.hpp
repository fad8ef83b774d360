// Which byte ranges of one file are done, in flight, or still missing; pure logic,
// no I/O. The policy is aria2's: connections claim missing pieces from the lowest
// offset up (so the hash follower's prefix grows early), and a connection with
// nothing left to claim splits the largest remaining in-flight range at its
// midpoint and takes the upper half, so a slow connection never holds up the end.
//
// A segment is fetched as a series of bounded requests ("chunks"); its `fence` is
// the end of the chunk in flight. A split never cuts below the fence, so no
// request is ever cut short by a steal: the origin sends every byte once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "transfer/range_set.hpp"

namespace modelcache::transfer {

using SegmentId = std::uint32_t;

inline constexpr std::uint64_t kOpenEnd = ~0ull;  // a segment of a file whose size is unknown

struct Segment {
  SegmentId id = 0;
  std::uint64_t begin = 0;  // first byte this segment was given
  std::uint64_t pos = 0;    // next byte to write; [begin, pos) is written
  std::uint64_t end = 0;    // exclusive; kOpenEnd while the file size is unknown
  std::uint64_t fence = 0;  // bytes before this are requested already (chunk in flight)
  std::uint64_t remaining() const { return end == kOpenEnd ? kOpenEnd : end - pos; }
  // Where a split would cut: the midpoint of what is left, but never below the fence.
  std::uint64_t split_point() const;
  // What a split would give a thief (0 for open-ended segments).
  std::uint64_t stealable() const { return end == kOpenEnd ? 0 : end - split_point(); }
};

class SegmentPlan {
 public:
  // `size` may be kOpenEnd (unknown): then the plan hands out one open-ended
  // segment and never splits. `piece_len` caps what one claim takes from a
  // missing run, which is how a fresh file is cut into its first segments.
  SegmentPlan(std::uint64_t size, std::uint64_t piece_len);

  // Bytes already on disk (from the resume journal).
  void mark_done(ByteRange range);

  // A new segment over the lowest missing bytes, or nullopt when nothing is
  // missing (everything is done or claimed by a segment).
  std::optional<SegmentId> claim_missing();

  // The segment a split would give the most bytes to (stealable()), among those
  // with at least `min_remaining` bytes still to come whose split would give at
  // least half of that (open-ended segments are never candidates).
  std::optional<SegmentId> largest_remaining(std::uint64_t min_remaining) const;
  // Trims `victim` to end at its split_point() and returns a new segment over the
  // rest.
  SegmentId split(SegmentId victim);
  // A request for bytes up to `fence` went out (or, with fence == pos, ended).
  void set_fence(SegmentId id, std::uint64_t fence);

  void advance(SegmentId id, std::uint64_t bytes);
  // The segment stops (finished, trimmed, or abandoned): what it wrote becomes
  // done, what it did not becomes missing again.
  void retire(SegmentId id);
  // Known once the single stream of an unknown-size file has ended.
  void learn_size(std::uint64_t size);

  const Segment& segment(SegmentId id) const { return segments_.at(id); }
  bool has_segment(SegmentId id) const { return segments_.contains(id); }
  std::vector<SegmentId> segment_ids() const;
  std::uint64_t size() const { return size_; }
  // Written bytes: done ranges plus what live segments have written.
  std::uint64_t written_bytes() const;
  const RangeSet& done() const { return done_; }
  // Every byte of a known-size file is written and no segment is live.
  bool complete() const;

 private:
  std::vector<ByteRange> missing() const;

  std::uint64_t size_;
  std::uint64_t piece_len_;
  RangeSet done_;
  std::map<SegmentId, Segment> segments_;
  SegmentId next_id_ = 1;
};

}  // namespace modelcache::transfer
