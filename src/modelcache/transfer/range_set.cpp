#include "transfer/range_set.hpp"

#include <algorithm>

namespace modelcache::transfer {

void RangeSet::add(ByteRange r) {
  if (r.empty()) return;
  // Start from the last range that begins at or before r.begin: it may touch r.
  auto it = by_begin_.upper_bound(r.begin);
  if (it != by_begin_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= r.begin) {
      r.begin = prev->first;
      r.end = std::max(r.end, prev->second);
      it = by_begin_.erase(prev);
    }
  }
  while (it != by_begin_.end() && it->first <= r.end) {
    r.end = std::max(r.end, it->second);
    it = by_begin_.erase(it);
  }
  by_begin_.emplace(r.begin, r.end);
}

std::uint64_t RangeSet::contiguous_end(std::uint64_t from) const {
  auto it = by_begin_.upper_bound(from);
  if (it == by_begin_.begin()) return from;
  --it;
  return it->second > from ? it->second : from;
}

bool RangeSet::covers(ByteRange r) const { return r.empty() || contiguous_end(r.begin) >= r.end; }

std::uint64_t RangeSet::total() const {
  std::uint64_t sum = 0;
  for (const auto& [b, e] : by_begin_) sum += e - b;
  return sum;
}

std::vector<ByteRange> RangeSet::gaps(std::uint64_t size) const {
  std::vector<ByteRange> out;
  std::uint64_t at = 0;
  for (const auto& [b, e] : by_begin_) {
    if (b >= size) break;
    if (b > at) out.push_back({at, b});
    at = std::max(at, e);
  }
  if (at < size) out.push_back({at, size});
  return out;
}

std::vector<ByteRange> RangeSet::ranges() const {
  std::vector<ByteRange> out;
  out.reserve(by_begin_.size());
  for (const auto& [b, e] : by_begin_) out.push_back({b, e});
  return out;
}

}  // namespace modelcache::transfer
