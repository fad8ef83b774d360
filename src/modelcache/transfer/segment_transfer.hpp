// One segment of one file on one libcurl easy handle: a series of bounded range
// requests ("chunks") over the same kept-alive connection. The write callback
// checks each response before its first byte and pwrite()s the body into the
// part file at the right offset, gathered into batches of 512 KiB. A chunk is
// sized from this connection's observed rate (about kChunkSeconds of transfer,
// within limits) so that a steal, which may only move the segment's end beyond
// the chunk in flight, never waits long and never aborts a request. Every
// decision that changes more than this segment is left to the engine, after a
// request is done: callbacks run inside curl and must not touch the multi handle.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "modelcache/error.hpp"
#include "transfer/file_job.hpp"
#include "transfer/response_check.hpp"
#include "transfer/segment_plan.hpp"

namespace modelcache::transfer {

struct TransferOutcome {
  enum class Kind {
    kComplete,      // the request got every byte it asked for
    kRetry,         // transient failure; the segment keeps what it wrote
    kRangeIgnored,  // the origin answered 200 to a ranged request
    kUrlExpired,    // the effective URL answered 401/403/404/410: use the request's URL again
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
  // The host whose connection slot this transfer holds (FetchLoop's per-host cap).
  std::string slot_host;
  FileJob& job() const { return *job_; }
  SegmentId segment_id() const { return id_; }
  const std::optional<std::string>& etag() const { return head_.etag; }
  // The URL that answered, after redirects.
  std::string effective_url() const;
  // When a byte (or header) last arrived, or when the request went out.
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }
  // No byte for stall_timeout: the engine ends the request and retries it.
  void mark_stalled();
  // What became of the request, once curl reports it done with `rc`.
  TransferOutcome finish(CURLcode rc);
  // After a kComplete request: prepares the segment's next chunk on this handle
  // (the caller adds it to the multi handle again); false when the segment is done.
  bool next_chunk();
  // Writes what was received and not yet written (checked body bytes), so that a
  // transfer dropped by a cancel keeps them for the resume.
  void save_received() { (void)flush(); }

 private:
  static size_t write_cb(char* data, size_t size, size_t n, void* self);
  static size_t header_cb(char* data, size_t size, size_t n, void* self);
  size_t on_body(const char* data, size_t len);
  void on_header(std::string_view line);
  // Sets up the request for the segment's next bytes and resets per-request state.
  void begin_request();
  // Checks status and headers once; false (with stop_ set) when the body must not be written.
  bool check_head();
  // Writes the gathered body bytes at the segment's position; false (with
  // stopped_ set) on a write error.
  bool flush();
  void stop(TransferOutcome::Kind kind, Error error);

  FileJob* job_;
  SegmentId id_;
  const core::TransferSettings* settings_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::uint64_t chunk_len_ = 0;  // size of the next chunk request
  bool to_effective_url_ = false;  // this request went to the job's effective URL
  // Per request:
  std::optional<RequestedRange> requested_;
  std::uint64_t requested_end_ = kOpenEnd;  // end of the bytes this request asked for
  std::uint64_t started_pos_ = 0;           // the segment's position when it went out
  std::chrono::steady_clock::time_point started_at_;
  ResponseHead head_;
  bool checked_ = false;
  CheckResult check_;
  std::uint64_t cursor_ = 0;  // file offset of the next body byte
  std::vector<char> batch_;   // body bytes received, not yet written (they follow pos)
  std::optional<TransferOutcome> stopped_;
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
  char errbuf_[CURL_ERROR_SIZE] = {};
};

}  // namespace modelcache::transfer
