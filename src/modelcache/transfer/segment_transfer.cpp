#include "transfer/segment_transfer.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "net/curl_setup.hpp"
#include "net/http_client.hpp"
#include "util/strings.hpp"

namespace modelcache::transfer {

namespace {

using Kind = TransferOutcome::Kind;

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
  const Segment& s = job.plan().segment(id);
  requested_ = job.request_range(s);
  requested_end_ = s.end;
  // Without Range the body starts at byte 0; with it, check_head() confirms the offset.
  cursor_ = requested_ ? requested_->begin : 0;

  easy_ = curl_easy_init();
  if (!easy_) throw std::bad_alloc();
  net::apply_common_options(easy_, settings);
  for (const std::string& h : job.request().headers)
    headers_ = curl_slist_append(headers_, h.c_str());
  if (requested_) headers_ = curl_slist_append(headers_, range_header(*requested_).c_str());
  curl_easy_setopt(easy_, CURLOPT_URL, job.request().url.c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
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
      stop(Kind::kFatal, check_.error);
      return false;
  }
  return false;
}

size_t SegmentTransfer::on_body(const char* data, size_t len) {
  last_activity_ = std::chrono::steady_clock::now();
  if (stopped_ || !check_head()) return CURL_WRITEFUNC_ERROR;
  const Segment& s = job_->plan().segment(id_);
  const std::uint64_t first = cursor_;
  const std::uint64_t last = cursor_ + len;
  cursor_ = last;
  // Bytes before pos are already on disk (a plain GET retried after a partial
  // body): skip them rather than rewrite what the follower may have hashed.
  std::uint64_t lo = std::max(first, s.pos);
  std::uint64_t hi = std::min(last, s.end);
  if (lo > s.pos) {
    stop(Kind::kRetry, Error{ErrorCode::kProtocol, fmt::format("{}: response skipped bytes {}..{}",
                                                               job_->request().label, s.pos, lo)});
    return CURL_WRITEFUNC_ERROR;
  }
  if (hi > lo) {
    const std::filesystem::path& path = job_->request().part_path;
    if (auto st = util::pwrite_all(job_->fd(), data + (lo - first), hi - lo, lo, path); !st) {
      stop(Kind::kFatal, st.error());
      return CURL_WRITEFUNC_ERROR;
    }
    if (auto st = job_->on_written(id_, hi - lo); !st) {
      stop(Kind::kFatal, st.error());
      return CURL_WRITEFUNC_ERROR;
    }
  }
  const bool moved_in = s.end < requested_end_;
  if (moved_in && s.pos == s.end) {
    // A steal took the rest of this range: end the request on purpose.
    trimmed_ = true;
    return CURL_WRITEFUNC_ERROR;
  }
  if (last > s.end) {
    stop(Kind::kRetry,
         Error{ErrorCode::kProtocol,
               fmt::format("{}: response body runs past byte {} from {}", job_->request().label,
                           s.end, net::redact_url(job_->request().url))});
    return CURL_WRITEFUNC_ERROR;
  }
  return len;
}

void SegmentTransfer::mark_stalled() {
  const FetchRequest& r = job_->request();
  stop(Kind::kRetry, Error{ErrorCode::kTimeout,
                           fmt::format("{}: no data for {} s from {}", r.label,
                                       settings_->stall_timeout.count(), net::redact_url(r.url))});
}

TransferOutcome SegmentTransfer::finish(CURLcode rc) {
  if (trimmed_) return TransferOutcome{Kind::kComplete, {}, std::nullopt};
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
  if (s.end != kOpenEnd && s.pos < s.end) {
    return {Kind::kRetry,
            Error{ErrorCode::kProtocol, fmt::format("{}: body ended early at byte {} of {} from {}",
                                                    r.label, s.pos, s.end, net::redact_url(r.url))},
            std::nullopt};
  }
  return TransferOutcome{Kind::kComplete, {}, std::nullopt};
}

}  // namespace modelcache::transfer
