#include "transfer/fetch_loop.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "net/curl_setup.hpp"
#include "net/retry.hpp"
#include "transfer/local_copy.hpp"
#include "util/log.hpp"

namespace modelcache::transfer {

namespace {

constexpr auto kProgressEvery = std::chrono::milliseconds(100);

bool is_finished(JobState s) { return s == JobState::kDone || s == JobState::kFailed; }

}  // namespace

FetchLoop::MultiHandle::MultiHandle() : multi(curl_multi_init()) {
  if (!multi) throw std::bad_alloc();
}

FetchLoop::MultiHandle::~MultiHandle() { curl_multi_cleanup(multi); }

FetchLoop::FetchLoop(const core::TransferSettings& settings,
                     const std::vector<FetchRequest>& requests,
                     const FetchHooks& hooks)
    : settings_(settings),
      requests_(requests),
      hooks_(hooks),
      worker_([m = multi_.multi] { curl_multi_wakeup(m); }),
      syncer_([m = multi_.multi] { curl_multi_wakeup(m); }) {
  settings_.max_connections = std::max(1, settings_.max_connections);
  settings_.max_connections_per_host =
      std::clamp(settings_.max_connections_per_host, 1, settings_.max_connections);
  settings_.max_attempts = std::max(1, settings_.max_attempts);
  settings_.stall_timeout = std::max(settings_.stall_timeout, std::chrono::seconds(1));
  curl_multi_setopt(multi_.multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(settings_.max_connections_per_host));
  curl_multi_setopt(multi_.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                    static_cast<long>(settings_.max_connections));
  curl_multi_setopt(multi_.multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);

  results_.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    results_.push_back(modelcache::fail(ErrorCode::kInternal, requests[i].label + ": not fetched"));
    if (is_file_url(requests[i].url)) {
      jobs_.push_back(nullptr);
      continue;
    }
    auto job = std::make_unique<FileJob>(requests[i], i, settings_, worker_);
    // Missing bytes as of now: what a resumable part file already holds does not count.
    if (requests[i].size != kUnknownSize) {
      progress_.bytes_total += requests[i].size - job->resumable_ranges().total();
    }
    jobs_.push_back(std::move(job));
  }
  progress_.files_total = static_cast<int>(requests.size());
  progress_.files.resize(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) progress_.files[i].total = requests[i].size;
  if (hooks_.stop.stop_possible()) {
    wake_on_stop_.emplace(hooks_.stop, std::function<void()>([m = multi_.multi] {
                            curl_multi_wakeup(m);
                          }));
  }
}

FetchLoop::~FetchLoop() {
  for (auto& [easy, t] : transfers_) curl_multi_remove_handle(multi_.multi, easy);
  transfers_.clear();
}

std::vector<Result<FetchResult>> FetchLoop::run() {
  copy_local_files();
  for (;;) {
    if (hooks_.stop.stop_requested()) cancel_all();
    schedule();
    int running = 0;
    curl_multi_perform(multi_.multi, &running);
    bool changed = drain_done();
    changed |= abort_stalled();
    changed |= check_finishing_jobs();
    report_progress(false);
    if (std::all_of(jobs_.begin(), jobs_.end(),
                    [](const auto& j) { return !j || is_finished(j->state); })) {
      break;
    }
    // Something finished: give its slot away before sleeping.
    if (changed) continue;
    curl_multi_poll(multi_.multi, nullptr, 0, poll_timeout_ms(), nullptr);
  }
  report_progress(true);
  return std::move(results_);
}

void FetchLoop::copy_local_files() {
  for (std::size_t i = 0; i < requests_.size(); ++i) {
    if (jobs_[i]) continue;
    const FetchRequest& r = requests_[i];
    if (hooks_.stop.stop_requested()) {
      results_[i] = std::unexpected(cancelled_error(r));
    } else {
      if (r.size != kUnknownSize) progress_.bytes_total += r.size;
      results_[i] = local_copy(r, [&](std::uint64_t n) {
        local_bytes_ += n;
        progress_.files[i].done += n;
        report_progress(false);
      });
      if (results_[i]) {
        progress_.files[i].total = results_[i]->size;
        progress_.files[i].done = results_[i]->size;
        progress_.files[i].ready = results_[i]->size;
      }
    }
    ++progress_.files_done;
    settled(i);
  }
}

bool FetchLoop::has_slot(const FileJob& job) const {
  if (active_ >= settings_.max_connections) return false;
  auto it = active_per_host_.find(job.host());
  return it == active_per_host_.end() || it->second < settings_.max_connections_per_host;
}

void FetchLoop::schedule() {
  // The common case while bytes flow: every slot busy, nothing to decide.
  if (active_ >= settings_.max_connections) return;
  const auto now = Clock::now();
  // Retries whose backoff is over.
  for (auto& job : jobs_) {
    if (!job || job->state != JobState::kRunning) continue;
    for (auto& [id, st] : job->segments()) {
      if (!st.active && st.attempts > 0 && st.ready_at <= now && has_slot(*job)) start(*job, id);
    }
  }
  // Each round fills what it can; a new file's pieces are claimed in the next.
  while (active_ < settings_.max_connections) {
    bool any = claim_missing_pieces();
    if (active_ >= settings_.max_connections) break;
    any = any || steal() || open_next_job();
    if (!any) break;
  }
}

// Missing pieces of started files first, in request order, so files finish (and
// can be committed) early. A file whose origin has not yet answered a ranged
// request gets one connection until it does: no burst of requests that a
// Range-ignoring origin would answer with the whole file each, and the other
// pieces go straight to where the first request was redirected.
bool FetchLoop::claim_missing_pieces() {
  bool any = false;
  for (auto& job : jobs_) {
    while (job && job->state == JobState::kRunning && has_slot(*job) &&
           !(job->ranges == RangeSupport::kUnknown && job->active_transfers > 0)) {
      auto id = job->plan().claim_missing();
      if (!id) break;
      start(*job, job->add_segment(*id));
      any = true;
    }
  }
  return any;
}

// Split the largest stealable range (aria2's policy), beyond the chunk its
// connection has in flight. Only where the origin has answered a ranged request
// properly, so a steal is never wasted on an origin that ignores Range.
bool FetchLoop::steal() {
  const std::uint64_t min_remaining =
      std::max<std::uint64_t>(settings_.min_segment_bytes, 64 << 10);
  FileJob* best_job = nullptr;
  SegmentId best = 0;
  std::uint64_t best_stealable = 0;
  for (auto& job : jobs_) {
    if (!job || job->state != JobState::kRunning || job->ranges != RangeSupport::kYes ||
        !has_slot(*job)) {
      continue;
    }
    auto id = job->plan().largest_remaining(min_remaining);
    if (id && job->plan().segment(*id).stealable() > best_stealable) {
      best_job = job.get();
      best = *id;
      best_stealable = job->plan().segment(*id).stealable();
    }
  }
  if (!best_job) return false;
  SegmentId thief = best_job->plan().split(best);
  util::log(util::LogLevel::kDebug, "{}: steals bytes {}..{}", best_job->request().label,
            best_job->plan().segment(thief).begin, best_job->plan().segment(thief).end);
  start(*best_job, best_job->add_segment(thief));
  return true;
}

// The next file in request order that has a free slot for its host (the
// caller puts the files a reader needs first, and small ones, before the rest:
// cache/blob_fetcher.cpp).
bool FetchLoop::open_next_job() {
  for (auto& job : jobs_) {
    if (job && job->state == JobState::kQueued && has_slot(*job)) {
      open_job(*job);
      return true;
    }
  }
  return false;
}

void FetchLoop::open_job(FileJob& job) {
  if (auto st = job.open(StartMode::kResume); !st) fail(job, st.error());
}

void FetchLoop::start(FileJob& job, SegmentId id) {
  auto t = std::make_unique<SegmentTransfer>(job, id, settings_);
  t->slot_host = job.host();
  SegmentState& st = job.segments().at(id);
  st.active = true;
  ++st.attempts;
  CURL* easy = t->easy();
  curl_multi_add_handle(multi_.multi, easy);
  transfers_.emplace(easy, std::move(t));
  ++active_per_host_[job.host()];
  ++active_;
  ++job.active_transfers;
}

bool FetchLoop::drain_done() {
  bool any = false;
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_.multi, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    on_done(msg->easy_handle, msg->data.result);
    any = true;
  }
  return any;
}

bool FetchLoop::abort_stalled() {
  const auto limit = Clock::now() - settings_.stall_timeout;
  std::vector<CURL*> stalled;
  for (const auto& [easy, t] : transfers_) {
    if (t->last_activity() < limit) stalled.push_back(easy);
  }
  for (CURL* easy : stalled) {
    transfers_.at(easy)->mark_stalled();
    on_done(easy, CURLE_OPERATION_TIMEDOUT);
  }
  return !stalled.empty();
}

void FetchLoop::on_done(CURL* easy, CURLcode rc) {
  auto it = transfers_.find(easy);
  if (it == transfers_.end()) return;
  SegmentTransfer& t = *it->second;
  curl_multi_remove_handle(multi_.multi, easy);
  FileJob& job = t.job();
  const SegmentId id = t.segment_id();

  TransferOutcome out = t.finish(rc);
  if (t.etag() && job.etag.empty()) job.etag = *t.etag();

  // The usual case: a chunk is done and its segment has more; the next chunk goes
  // out on the same handle (and kept-alive connection) right away.
  if (out.kind == TransferOutcome::Kind::kComplete && t.next_chunk()) {
    SegmentState& st = job.segments().at(id);
    st.attempts = 1;  // retries count per chunk
    if (auto s = job.checkpoint(id, Flush::kNow); !s) return fail(job, s.error());
    // The next chunk goes where the first was redirected: its slot moves there.
    if (t.slot_host != job.host()) {
      --active_per_host_[t.slot_host];
      ++active_per_host_[t.slot_host = job.host()];
    }
    curl_multi_add_handle(multi_.multi, easy);
    return;
  }
  release(easy);

  switch (out.kind) {
    case TransferOutcome::Kind::kComplete: {
      const Segment& s = job.plan().segment(id);
      // The single stream of a file of unknown size: its end is the file's end.
      if (s.end == kOpenEnd) job.plan().learn_size(s.pos);
      if (auto st = job.retire(id); !st) return fail(job, st.error());
      if (job.plan().complete()) on_all_bytes_in(job);
      return;
    }
    case TransferOutcome::Kind::kRetry:
      return on_retry(job, id, out);
    case TransferOutcome::Kind::kUrlExpired:
      return on_url_expired(job, id, out);
    case TransferOutcome::Kind::kRangeIgnored:
      job.ranges = RangeSupport::kIgnored;
      return restart_fresh(job, job.request().label + ": the origin ignores Range");
    case TransferOutcome::Kind::kFatal:
      return fail(job, out.error);
  }
}

// The transfer of `easy` is over: its slot is free and its segment has no
// request in flight (a steal may take any of its bytes now).
void FetchLoop::release(CURL* easy) {
  auto node = transfers_.extract(easy);
  FileJob& job = node.mapped()->job();
  const SegmentId id = node.mapped()->segment_id();
  free_slot(*node.mapped());
  job.plan().set_fence(id, job.plan().segment(id).pos);
}

void FetchLoop::free_slot(const SegmentTransfer& t) {
  --active_per_host_[t.slot_host];
  --active_;
  --t.job().active_transfers;
  t.job().segments().at(t.segment_id()).active = false;
}

void FetchLoop::on_retry(FileJob& job, SegmentId id, const TransferOutcome& out) {
  SegmentState& st = job.segments().at(id);
  // What the failed attempt wrote stays: the next attempt starts after it.
  if (auto r = job.checkpoint(id, Flush::kNow); !r) return fail(job, r.error());
  if (st.attempts >= settings_.max_attempts) {
    Error e = out.error;
    e.message += fmt::format(" (gave up after {} attempts)", st.attempts);
    return fail(job, std::move(e));
  }
  auto delay = net::backoff_delay(st.attempts, settings_.backoff_base, out.retry_after);
  st.ready_at = Clock::now() + delay;
  st.last_error = out.error;
  util::log(util::LogLevel::kInfo, "{}; retrying in {} ms", out.error.message, delay.count());
}

// The URL a redirect led to stopped working (signed URLs expire): ask the
// request's own URL again, which redirects to a fresh one. Not a failed attempt;
// if the request's URL itself answers so, that is final (no loop).
void FetchLoop::on_url_expired(FileJob& job, SegmentId id, const TransferOutcome& out) {
  if (auto r = job.checkpoint(id, Flush::kNow); !r) return fail(job, r.error());
  util::log(util::LogLevel::kInfo, "{}; asking the original URL again", out.error.message);
  job.drop_effective_url();
  SegmentState& st = job.segments().at(id);
  // Uncounted, but > 0: the retry pass in schedule() starts it again at once.
  st.attempts = std::max(1, st.attempts - 1);
  st.ready_at = Clock::now();
}

void FetchLoop::on_all_bytes_in(FileJob& job) {
  const FetchRequest& r = job.request();
  if (r.size != kUnknownSize && job.plan().size() != r.size) {
    return fail(job, size_mismatch(r.label, r.size, job.plan().size()));
  }
  job.seal();
}

// Jobs whose bytes are all in: verify the digests the follower computed, then
// fdatasync on the worker thread, then report success.
bool FetchLoop::check_finishing_jobs() {
  bool any = false;
  for (auto& job : jobs_) {
    if (!job) continue;
    const FetchRequest& r = job->request();
    if (job->state == JobState::kHashing && job->follower().finished()) {
      any = true;
      const auto& digests = job->follower().outcome();
      if (!digests) {
        fail(*job, digests.error());
        continue;
      }
      if (auto st = check_digests(r.label, r.expected, *digests); !st) {
        // Bytes trusted from an earlier run may be what is wrong (a power loss
        // after the journal record but before writeback): one clean refetch.
        if (job->resumed && !job->restarted) {
          restart_fresh(*job, st.error().message);
          continue;
        }
        fail(*job, Error{st.error().code, st.error().message});
        continue;
      }
      results_[job->index()] =
          FetchResult{digests->sha256, job->plan().size(), job->bytes_downloaded, job->etag};
      job->state = JobState::kSyncing;
      FileJob* j = job.get();
      syncer_.post([j] {
        j->sync_status = util::fsync_fd(j->fd(), j->request().part_path);
        j->synced.store(true, std::memory_order_release);
      });
    } else if (job->state == JobState::kSyncing && job->synced.load(std::memory_order_acquire)) {
      any = true;
      // A stop requested since this turn began: no success is handed over after it.
      if (!cancelled_ && hooks_.stop.stop_requested()) cancel_all();
      if (cancelled_) {
        // Verified and synced, but the caller asked to stop: nothing more is
        // handed over. The journal stays, so a later fetch trusts these bytes
        // and only hashes them again.
        job->close();
        results_[job->index()] = std::unexpected(cancelled_error(r));
        job->state = JobState::kFailed;
        ++progress_.files_done;
        settled(job->index());
        continue;
      }
      if (!job->sync_status) {
        fail(*job, job->sync_status.error());
        continue;
      }
      job->close();
      if (auto st = util::remove_file(r.journal_path); !st) {
        util::log(util::LogLevel::kWarn, "{}", st.error().message);
      }
      job->state = JobState::kDone;
      ++progress_.files_done;
      progress_.files[job->index()].done = job->request().size == kUnknownSize
                                               ? results_[job->index()]->size
                                               : job->request().size;
      progress_.files[job->index()].total = progress_.files[job->index()].done;
      settled(job->index());
    }
  }
  return any;
}

void FetchLoop::cancel_transfers(FileJob& job) {
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    if (&it->second->job() != &job) {
      ++it;
      continue;
    }
    curl_multi_remove_handle(multi_.multi, it->first);
    free_slot(*it->second);
    it = transfers_.erase(it);
  }
}

void FetchLoop::restart_fresh(FileJob& job, std::string_view why) {
  util::log(util::LogLevel::kWarn, "{}; fetching it again from the start", why);
  cancel_transfers(job);
  job.restarted = true;
  // What we learnt about Range holds for the new attempt; a 206 will confirm it again.
  if (job.ranges != RangeSupport::kIgnored) job.ranges = RangeSupport::kUnknown;
  if (auto st = job.open(StartMode::kFresh); !st) return fail(job, st.error());
  if (job.request().size != kUnknownSize) progress_.bytes_total += job.request().size;
}

void FetchLoop::fail(FileJob& job, Error error) {
  cancel_transfers(job);
  // Proven-wrong data is deleted; anything else stays for the next run to resume.
  if (error.code == ErrorCode::kIntegrity) {
    job.discard_files();
  } else {
    job.suspend();
  }
  util::log(util::LogLevel::kInfo, "{}", error.message);
  results_[job.index()] = std::unexpected(error);
  job.error = std::move(error);
  job.state = JobState::kFailed;
  ++progress_.files_done;
  settled(job.index());
}

void FetchLoop::cancel_all() {
  if (cancelled_) return;
  cancelled_ = true;
  for (auto& job : jobs_) {
    // A file in fdatasync: its task holds the descriptor; check_finishing_jobs
    // settles it once the sync is over.
    if (!job || is_finished(job->state) || job->state == JobState::kSyncing) continue;
    settle_cancelled(*job);
  }
}

void FetchLoop::settle_cancelled(FileJob& job) {
  // Up to a write batch per connection is still in memory: keep it.
  for (auto& [easy, t] : transfers_) {
    if (&t->job() == &job) t->save_received();
  }
  cancel_transfers(job);
  job.suspend();  // journals what every segment wrote: the next fetch resumes there
  Error e = cancelled_error(job.request());
  util::log(util::LogLevel::kDebug, "{}", e.message);
  results_[job.index()] = std::unexpected(e);
  job.error = std::move(e);
  job.state = JobState::kFailed;
  ++progress_.files_done;
  settled(job.index());
}

Error FetchLoop::cancelled_error(const FetchRequest& r) const {
  return Error{ErrorCode::kCancelled,
               r.label + ": cancelled; what was downloaded is kept and the next pull resumes it"};
}

void FetchLoop::settled(std::size_t index) {
  if (hooks_.on_file_done) hooks_.on_file_done(index, results_[index]);
}

void FetchLoop::report_progress(bool force) {
  if (!hooks_.on_progress) return;
  const auto now = Clock::now();
  if (!force && now - last_progress_ < kProgressEvery) return;
  last_progress_ = now;
  progress_.bytes_done = local_bytes_;
  for (const auto& job : jobs_) {
    if (!job) continue;
    progress_.bytes_done += job->bytes_downloaded;
    FileBytes& f = progress_.files[job->index()];
    if (job->has_plan()) {
      // A refetch from scratch lowers what is written; the figure stays monotone.
      f.done = std::max(f.done, job->plan().written_bytes());
      if (job->plan().size() != kOpenEnd) f.total = job->plan().size();
    }
    if (job->has_follower()) f.ready = std::max(f.ready, job->follower().hashed());
  }
  hooks_.on_progress(progress_);
}

int FetchLoop::poll_timeout_ms() const {
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kProgressEvery);
  const auto now = Clock::now();
  for (const auto& job : jobs_) {
    if (!job || job->state != JobState::kRunning) continue;
    for (const auto& [id, st] : job->segments()) {
      if (st.active || st.attempts == 0) continue;
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(st.ready_at - now);
      wait = std::clamp(until, std::chrono::milliseconds(1), wait);
    }
  }
  return static_cast<int>(wait.count());
}

}  // namespace modelcache::transfer
