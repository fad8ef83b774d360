// Everything the engine knows about one requested file during a fetch() call:
// its part file, segment plan, resume journal and hash follower, plus the retry
// state of each segment. Only the curl loop's thread touches a FileJob (the
// follower is the one piece shared with the hashing thread).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "modelcache/error.hpp"
#include "transfer/engine.hpp"
#include "transfer/hash_follower.hpp"
#include "transfer/hash_worker.hpp"
#include "transfer/journal.hpp"
#include "transfer/response_check.hpp"
#include "transfer/segment_plan.hpp"
#include "util/fs.hpp"

namespace modelcache::transfer {

using Clock = std::chrono::steady_clock;

enum class JobState { kQueued, kRunning, kHashing, kSyncing, kDone, kFailed };
// Whether the origin honours Range for this file, as far as we have seen.
enum class RangeSupport { kUnknown, kYes, kIgnored };
enum class StartMode { kResume, kFresh };
enum class Flush { kIfDue, kNow };

struct SegmentState {
  int attempts = 0;              // requests made for this segment so far
  bool active = false;           // a transfer is running for it
  Clock::time_point ready_at{};  // earliest next attempt while !active
  std::uint64_t reported = 0;    // bytes up to here were handed to the follower
  std::uint64_t journaled = 0;   // bytes up to here are in the journal
  std::optional<Error> last_error;
};

class FileJob {
 public:
  FileJob(const FetchRequest& request, std::size_t index, const core::TransferSettings& settings,
          HashWorker& worker);

  // Prepares the part file, plan, follower and journal. kResume trusts the ranges
  // the journal lists (when part file and journal agree); kFresh starts over.
  // With `ranges` at kIgnored the plan is one piece: the whole file.
  Status open(StartMode mode);
  // The ranges of the part file that the journal vouches for: what open(kResume)
  // will trust. Empty when part file and journal do not agree.
  RangeSet resumable_ranges() const;
  // Drops every segment (their transfers must be gone already) and the follower.
  void close();
  // Journals what every segment wrote, then close(): a later run resumes from it.
  void suspend();
  // Deletes part file and journal: the data was proven wrong.
  void discard_files();

  SegmentId add_segment(SegmentId id);  // registers retry state for a plan segment
  // The next request of a segment, at most about `chunk_len` bytes from its
  // position (a sliver left over is taken along): nullopt means no Range header,
  // which asks for the whole file in one request.
  std::optional<RequestedRange> request_range(const Segment& s, std::uint64_t chunk_len) const;

  // Where requests go: the URL that answered the first good ranged response (a
  // CDN behind a redirect) once known, so later chunks skip the redirect; else the
  // request's URL. The headers drop credentials when that URL is on another origin.
  const std::string& url() const;
  std::vector<std::string> headers() const;
  bool uses_effective_url() const { return !effective_url_.empty(); }
  // `url` answered a ranged request well; later requests go straight to it.
  void use_effective_url(const std::string& url);
  // The effective URL failed (an expired signed URL): back to the request's URL.
  void drop_effective_url();
  // A ranged request was answered 206 with the right Content-Range by `url`
  // (after redirects): the origin honours Range, and later requests go there.
  void on_ranged_response(const std::string& url);
  // Bytes [pos, pos+n) of segment `id` were pwrite()n.
  Status on_written(SegmentId id, std::uint64_t n);
  // Hands written bytes to the follower and the journal (every few MiB, or now).
  Status checkpoint(SegmentId id, Flush flush);
  // Retires a segment from the plan and its state; checkpoints first.
  Status retire(SegmentId id);
  // All bytes are in: let the follower finish the digests.
  void seal();

  const FetchRequest& request() const { return *request_; }
  std::size_t index() const { return index_; }
  // Where requests go now (the effective URL's host once known): what the
  // per-host connection cap counts.
  const std::string& host() const { return host_; }
  int fd() const { return fd_.get(); }
  SegmentPlan& plan() { return *plan_; }
  bool has_plan() const { return plan_.has_value(); }
  HashFollower& follower() { return *follower_; }
  bool has_follower() const { return follower_ != nullptr; }
  std::map<SegmentId, SegmentState>& segments() { return segments_; }

  JobState state = JobState::kQueued;
  RangeSupport ranges = RangeSupport::kUnknown;
  bool resumed = false;    // this run trusted bytes from an earlier one
  bool restarted = false;  // already refetched from scratch once
  int active_transfers = 0;
  std::uint64_t bytes_downloaded = 0;
  std::string etag;
  std::optional<Error> error;
  // Set on the hashing thread by the fdatasync task, read by the loop after `synced`.
  Status sync_status;
  std::atomic<bool> synced{false};

 private:
  const FetchRequest* request_;
  std::size_t index_;
  const core::TransferSettings* settings_;
  HashWorker* worker_;
  std::string host_;
  std::string effective_url_;                   // empty: use request_->url
  bool effective_same_origin_ = false;  // else credentials are not sent to effective_url_
  util::UniqueFd fd_;
  std::optional<SegmentPlan> plan_;
  std::shared_ptr<HashFollower> follower_;
  std::optional<Journal> journal_;
  std::map<SegmentId, SegmentState> segments_;
};

}  // namespace modelcache::transfer
