#include "transfer/segment_plan.hpp"

#include <algorithm>

namespace modelcache::transfer {

std::uint64_t Segment::split_point() const {
  if (end == kOpenEnd) return end;
  return std::min(end, std::max({pos, fence, pos + remaining() / 2}));
}

SegmentPlan::SegmentPlan(std::uint64_t size, std::uint64_t piece_len)
    : size_(size), piece_len_(std::max<std::uint64_t>(piece_len, 1)) {}

void SegmentPlan::mark_done(ByteRange range) {
  if (size_ != kOpenEnd) range.end = std::min(range.end, size_);
  done_.add(range);
}

std::vector<ByteRange> SegmentPlan::missing() const {
  RangeSet taken = done_;
  for (const auto& [id, s] : segments_) taken.add({s.begin, s.end});
  return taken.gaps(size_);
}

std::optional<SegmentId> SegmentPlan::claim_missing() {
  if (size_ == kOpenEnd) {
    if (!segments_.empty() || !done_.empty()) return std::nullopt;
    SegmentId id = next_id_++;
    segments_.emplace(id, Segment{id, 0, 0, kOpenEnd, 0});
    return id;
  }
  auto gaps = missing();
  if (gaps.empty()) return std::nullopt;
  ByteRange r = gaps.front();
  // Take a whole piece, but never leave a sliver behind that would cost a request
  // of its own.
  if (r.size() > piece_len_ + piece_len_ / 2) r.end = r.begin + piece_len_;
  SegmentId id = next_id_++;
  segments_.emplace(id, Segment{id, r.begin, r.begin, r.end, r.begin});
  return id;
}

std::optional<SegmentId> SegmentPlan::largest_remaining(std::uint64_t min_remaining) const {
  std::optional<SegmentId> best;
  std::uint64_t best_remaining = 0;
  for (const auto& [id, s] : segments_) {
    if (s.end == kOpenEnd) continue;
    std::uint64_t give = s.stealable();
    // A thief gets about half of what is left; with a chunk in flight, less.
    if (s.remaining() >= min_remaining && give >= 1 && 2 * give >= min_remaining &&
        give > best_remaining) {
      best = id;
      best_remaining = give;
    }
  }
  return best;
}

SegmentId SegmentPlan::split(SegmentId victim) {
  Segment& v = segments_.at(victim);
  std::uint64_t mid = v.split_point();
  SegmentId id = next_id_++;
  segments_.emplace(id, Segment{id, mid, mid, v.end, mid});
  v.end = mid;
  return id;
}

void SegmentPlan::set_fence(SegmentId id, std::uint64_t fence) {
  Segment& s = segments_.at(id);
  s.fence = std::min(fence, s.end);
}

void SegmentPlan::advance(SegmentId id, std::uint64_t bytes) {
  Segment& s = segments_.at(id);
  s.pos = std::min(s.pos + bytes, s.end);
}

void SegmentPlan::retire(SegmentId id) {
  auto it = segments_.find(id);
  if (it == segments_.end()) return;
  done_.add({it->second.begin, it->second.pos});
  segments_.erase(it);
}

void SegmentPlan::learn_size(std::uint64_t size) {
  size_ = size;
  for (auto& [id, s] : segments_) {
    if (s.end == kOpenEnd || s.end > size) s.end = std::max(size, s.pos);
  }
}

std::vector<SegmentId> SegmentPlan::segment_ids() const {
  std::vector<SegmentId> out;
  for (const auto& [id, s] : segments_) out.push_back(id);
  return out;
}

std::uint64_t SegmentPlan::written_bytes() const {
  std::uint64_t n = done_.total();
  for (const auto& [id, s] : segments_) n += s.pos - s.begin;
  return n;
}

bool SegmentPlan::complete() const {
  return size_ != kOpenEnd && segments_.empty() && done_.covers({0, size_});
}

}  // namespace modelcache::transfer
