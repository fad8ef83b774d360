// One HTTP request for one segment of one file: a libcurl easy handle whose
// write callback checks the response before the first byte, pwrite()s the body
// into the part file at the right offset, and stops at the segment's end (which
// a steal may pull in while the request runs). Every decision that changes more
// than this segment is left to the engine, after the transfer is done: callbacks
// run inside curl and must not touch the multi handle.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <optional>
#include <string_view>

#include "core/config.hpp"
#include "modelcache/error.hpp"
#include "transfer/file_job.hpp"
#include "transfer/response_check.hpp"
#include "transfer/segment_plan.hpp"

namespace modelcache::transfer {

struct TransferOutcome {
  enum class Kind {
    kComplete,      // the segment got every byte it asked for, or was trimmed and reached its end
    kRetry,         // transient failure; the segment keeps what it wrote
    kRangeIgnored,  // the origin answered 200 to a ranged request
    kFatal,         // the file cannot be fetched
  };
  Kind kind = Kind::kComplete;
  Error error;
  std::optional<std::chrono::milliseconds> retry_after;
};

class SegmentTransfer {
 public:
  SegmentTransfer(FileJob& job, SegmentId id, const core::TransferSettings& settings);
  ~SegmentTransfer();
  SegmentTransfer(const SegmentTransfer&) = delete;
  SegmentTransfer& operator=(const SegmentTransfer&) = delete;

  CURL* easy() const { return easy_; }
  FileJob& job() const { return *job_; }
  SegmentId segment_id() const { return id_; }
  const std::optional<std::string>& etag() const { return head_.etag; }
  // Whether the response was a 206 that passed the checks.
  bool got_partial() const { return checked_ && check_.verdict == Verdict::kAccept && requested_; }
  // When a byte (or header) last arrived, or when the request went out.
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }
  // No byte for stall_timeout: the engine ends the request and retries it.
  void mark_stalled();
  // What became of the request, once curl reports it done with `rc`.
  TransferOutcome finish(CURLcode rc);

 private:
  static size_t write_cb(char* data, size_t size, size_t n, void* self);
  static size_t header_cb(char* data, size_t size, size_t n, void* self);
  size_t on_body(const char* data, size_t len);
  void on_header(std::string_view line);
  // Checks status and headers once; false (with stop_ set) when the body must not be written.
  bool check_head();
  void stop(TransferOutcome::Kind kind, Error error);

  FileJob* job_;
  SegmentId id_;
  const core::TransferSettings* settings_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::optional<RequestedRange> requested_;
  std::uint64_t requested_end_ = kOpenEnd;  // the segment's end when the request went out
  ResponseHead head_;
  bool checked_ = false;
  CheckResult check_;
  std::uint64_t cursor_ = 0;  // file offset of the next body byte
  bool trimmed_ = false;      // stopped deliberately at a end moved in by a steal
  std::optional<TransferOutcome> stopped_;
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
  char errbuf_[CURL_ERROR_SIZE] = {};
};

}  // namespace modelcache::transfer
