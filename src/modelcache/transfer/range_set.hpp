// Half-open byte ranges and a coalescing set of them: the vocabulary shared by
// the segment planner, the resume journal and the hash follower.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace modelcache::transfer {

struct ByteRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;  // exclusive
  std::uint64_t size() const { return end - begin; }
  bool empty() const { return end <= begin; }
  bool operator==(const ByteRange&) const = default;
};

// Disjoint, non-adjacent ranges: adding [a,b) merges with whatever it touches.
class RangeSet {
 public:
  void add(ByteRange r);
  // End of the run that starts at `from` (== from when `from` is not covered).
  std::uint64_t contiguous_end(std::uint64_t from) const;
  bool covers(ByteRange r) const;
  std::uint64_t total() const;
  // The parts of [0, size) not in the set, in order.
  std::vector<ByteRange> gaps(std::uint64_t size) const;
  std::vector<ByteRange> ranges() const;
  bool empty() const { return by_begin_.empty(); }
  void clear() { by_begin_.clear(); }

 private:
  std::map<std::uint64_t, std::uint64_t> by_begin_;  // begin -> end
};

}  // namespace modelcache::transfer
