#include "transfer/segment_transfer.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "net/curl_setup.hpp"
#include "net/http_client.hpp"
#include "util/strings.hpp"

namespace modelcache::transfer {

namespace {

using Kind = TransferOutcome::Kind;

// A chunk is about this much transfer at the connection's observed rate: long
// enough that a request's round trip is noise, short enough that a thief that
// has to wait for the chunk in flight does not wait long.
constexpr double kChunkSeconds = 0.75;
constexpr std::uint64_t kMinChunk = 256ull << 10;
constexpr std::uint64_t kMaxChunk = 32ull << 20;
constexpr std::uint64_t kFirstChunkMax = 8ull << 20;
constexpr long kReceiveBuffer = 512L << 10;
// curl hands the body to the write callback in pieces of at most 16 KiB
// (CURL_MAX_WRITE_SIZE) whatever the receive buffer is: they are gathered and
// written with one pwrite per kWriteBatch, ~30 times fewer system calls.
constexpr std::size_t kWriteBatch = 512u << 10;

// What an expired signed URL answers.
bool is_expired_url_status(long status) {
  return status == 401 || status == 403 || status == 404 || status == 410;
}

// Errors that another attempt cannot fix.
bool is_final_curl_error(CURLcode rc) {
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_REMOTE_ACCESS_DENIED:
    case CURLE_LOGIN_DENIED:
    case CURLE_FILESIZE_EXCEEDED:
      return true;
    default:
      return false;
  }
}

}  // namespace

SegmentTransfer::SegmentTransfer(FileJob& job, SegmentId id, const core::TransferSettings& settings)
    : job_(&job), id_(id), settings_(&settings) {
  // The first chunk, before this connection has a rate: small enough that a slow
  // connection soon has bytes to give away.
  chunk_len_ = std::clamp<std::uint64_t>(settings.min_segment_bytes, kMinChunk, kFirstChunkMax);
  batch_.reserve(kWriteBatch);
  easy_ = curl_easy_init();
  if (!easy_) throw std::bad_alloc();
  net::apply_common_options(easy_, settings);
  curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  // libcurl's default 16 KiB means one poll + recv + pwrite per 16 KiB; bigger
  // reads cut those system calls ~30-fold on a fast link.
  curl_easy_setopt(easy_, CURLOPT_BUFFERSIZE, kReceiveBuffer);
  // No CURLOPT_PIPEWAIT: on HTTP/1.1 it queues every request behind the first
  // connection's transfer, which serialises the segments. An HTTP/2 connection that
  // is already up is still shared (CURLPIPE_MULTIPLEX on the multi handle).
  // Stalls are detected by the engine from last_activity(): curl's LOW_SPEED_TIME
  // averages over a window of several seconds, so it fires late for short timeouts.
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &SegmentTransfer::write_cb);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &SegmentTransfer::header_cb);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_PRIVATE, this);
  begin_request();
}

void SegmentTransfer::begin_request() {
  Segment s = job_->plan().segment(id_);
  requested_ = job_->request_range(s, chunk_len_);
  requested_end_ = requested_ && requested_->end ? *requested_->end : s.end;
  // Until this request ends, a steal may only take bytes after what it asked for.
  job_->plan().set_fence(id_, requested_end_);
  // Without Range the body starts at byte 0; with it, check_head() confirms the offset.
  cursor_ = requested_ ? requested_->begin : 0;
  started_pos_ = s.pos;
  started_at_ = last_activity_ = std::chrono::steady_clock::now();
  head_ = ResponseHead{};
  checked_ = false;
  check_ = CheckResult{};
  stopped_.reset();
  errbuf_[0] = '\0';

  if (headers_) curl_slist_free_all(headers_);
  headers_ = nullptr;
  for (const std::string& h : job_->headers()) headers_ = curl_slist_append(headers_, h.c_str());
  if (requested_) headers_ = curl_slist_append(headers_, range_header(*requested_).c_str());
  to_effective_url_ = job_->uses_effective_url();
  curl_easy_setopt(easy_, CURLOPT_URL, job_->url().c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
}

bool SegmentTransfer::next_chunk() {
  const Segment& s = job_->plan().segment(id_);
  if (s.end == kOpenEnd || s.pos >= s.end) return false;
  // Size the next chunk from the rate of the last one.
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
  const double rate = static_cast<double>(s.pos - started_pos_) / std::max(secs, 1e-3);
  chunk_len_ = std::clamp(static_cast<std::uint64_t>(rate * kChunkSeconds), kMinChunk, kMaxChunk);
  begin_request();
  return true;
}

std::string SegmentTransfer::effective_url() const {
  char* url = nullptr;
  curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &url);
  return url ? url : "";
}

SegmentTransfer::~SegmentTransfer() {
  if (easy_) curl_easy_cleanup(easy_);
  if (headers_) curl_slist_free_all(headers_);
}

size_t SegmentTransfer::write_cb(char* data, size_t size, size_t n, void* self) {
  return static_cast<SegmentTransfer*>(self)->on_body(data, size * n);
}

size_t SegmentTransfer::header_cb(char* data, size_t size, size_t n, void* self) {
  static_cast<SegmentTransfer*>(self)->on_header(std::string_view(data, size * n));
  return size * n;
}

void SegmentTransfer::on_header(std::string_view line) {
  last_activity_ = std::chrono::steady_clock::now();
  // Each response of a redirect chain starts with its status line; keep the last.
  if (line.starts_with("HTTP/")) {
    head_ = ResponseHead{};
    return;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return;
  std::string name = util::to_lower(util::trim(line.substr(0, colon)));
  std::string value(util::trim(line.substr(colon + 1)));
  if (name == "content-range")
    head_.content_range = value;
  else if (name == "content-length")
    head_.content_length = value;
  else if (name == "retry-after")
    head_.retry_after = value;
  else if (name == "etag")
    head_.etag = value;
}

void SegmentTransfer::stop(Kind kind, Error error) {
  if (!stopped_) stopped_ = TransferOutcome{kind, std::move(error), std::nullopt};
}

bool SegmentTransfer::check_head() {
  if (checked_) return check_.verdict == Verdict::kAccept;
  checked_ = true;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &head_.status);
  const FetchRequest& r = job_->request();
  check_ = check_response(head_, requested_, r.size, r.label, r.url);
  switch (check_.verdict) {
    case Verdict::kAccept:
      cursor_ = check_.body_offset;
      // Known from the first response of a file, not after its first chunk: the
      // loop then spreads the file over more connections, straight to that URL.
      if (requested_ && job_->ranges != RangeSupport::kYes) job_->on_ranged_response(effective_url());
      // The single stream of an unknown-size file learns its size from the headers.
      if (check_.total && job_->plan().size() == kOpenEnd) job_->plan().learn_size(*check_.total);
      return true;
    case Verdict::kRangeIgnored:
      stop(Kind::kRangeIgnored, {});
      return false;
    case Verdict::kRetry:
      stop(Kind::kRetry, check_.error);
      stopped_->retry_after = check_.retry_after;
      return false;
    case Verdict::kFatal:
      // A redirect target we went to directly may have expired: the request's own
      // URL gets a fresh one (the engine goes back to it once).
      stop(to_effective_url_ && is_expired_url_status(head_.status) ? Kind::kUrlExpired
                                                                     : Kind::kFatal,
           check_.error);
      return false;
  }
  return false;
}

size_t SegmentTransfer::on_body(const char* data, size_t len) {
  last_activity_ = std::chrono::steady_clock::now();
  if (stopped_ || !check_head()) return CURL_WRITEFUNC_ERROR;
  const Segment& s = job_->plan().segment(id_);
  // learn_size() may move an open end in; steals never cut below requested_end_.
  const std::uint64_t limit = std::min(requested_end_, s.end);
  const std::uint64_t first = cursor_;
  const std::uint64_t last = cursor_ + len;
  cursor_ = last;
  const std::uint64_t next = s.pos + batch_.size();  // the next byte the segment needs
  // Bytes before it are already on disk (a plain GET retried after a partial
  // body): skip them rather than rewrite what the follower may have hashed.
  std::uint64_t lo = std::max(first, next);
  std::uint64_t hi = std::min(last, limit);
  if (lo > next) {
    stop(Kind::kRetry, Error{ErrorCode::kProtocol, fmt::format("{}: response skipped bytes {}..{}",
                                                               job_->request().label, next, lo)});
    return CURL_WRITEFUNC_ERROR;
  }
  if (hi > lo) {
    batch_.insert(batch_.end(), data + (lo - first), data + (hi - first));
    if (batch_.size() >= kWriteBatch && !flush()) return CURL_WRITEFUNC_ERROR;
  }
  if (last > limit) {
    stop(Kind::kRetry,
         Error{ErrorCode::kProtocol,
               fmt::format("{}: response body runs past byte {} from {}", job_->request().label,
                           limit, net::redact_url(job_->request().url))});
    return CURL_WRITEFUNC_ERROR;
  }
  return len;
}

bool SegmentTransfer::flush() {
  if (batch_.empty()) return true;
  const std::uint64_t at = job_->plan().segment(id_).pos;
  const std::filesystem::path& path = job_->request().part_path;
  Status st = util::pwrite_all(job_->fd(), batch_.data(), batch_.size(), at, path);
  if (st) st = job_->on_written(id_, batch_.size());
  batch_.clear();
  // A write error outranks whatever else stopped the request.
  if (!st) stopped_ = TransferOutcome{Kind::kFatal, st.error(), std::nullopt};
  return static_cast<bool>(st);
}

void SegmentTransfer::mark_stalled() {
  const FetchRequest& r = job_->request();
  stop(Kind::kRetry, Error{ErrorCode::kTimeout,
                           fmt::format("{}: no data for {} s from {}", r.label,
                                       settings_->stall_timeout.count(), net::redact_url(r.url))});
}

TransferOutcome SegmentTransfer::finish(CURLcode rc) {
  // What arrived is kept whatever the outcome: a retry starts after it.
  flush();
  if (stopped_) return *stopped_;
  const FetchRequest& r = job_->request();
  long status = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  // A response without a body (204, an empty 503, a 404 without a page) never
  // reached the write callback: check it now.
  if (status != 0 && !check_head()) return *stopped_;
  if (rc != CURLE_OK) {
    const char* detail = errbuf_[0] ? errbuf_ : curl_easy_strerror(rc);
    return {is_final_curl_error(rc) ? Kind::kFatal : Kind::kRetry,
            Error{rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kNetwork,
                  fmt::format("{}: {} ({})", r.label, detail, net::redact_url(r.url))},
            std::nullopt};
  }
  const Segment& s = job_->plan().segment(id_);
  const std::uint64_t limit = std::min(requested_end_, s.end);
  if (limit != kOpenEnd && s.pos < limit) {
    return {Kind::kRetry,
            Error{ErrorCode::kProtocol, fmt::format("{}: body ended early at byte {} of {} from {}",
                                                    r.label, s.pos, limit, net::redact_url(r.url))},
            std::nullopt};
  }
  return TransferOutcome{Kind::kComplete, {}, std::nullopt};
}

}  // namespace modelcache::transfer
