// One fetch() call: a CURLM multi handle driven by curl_multi_poll on the
// calling thread, the FileJobs of every request, the HashWorker thread and the
// TaskThread that fdatasyncs finished files.
// A connection keeps its segment, chunk after chunk, until the segment is done.
// Scheduling, per free connection slot: retries that are due, then missing
// pieces of files already started (in request order; one connection per file
// until its origin has answered a ranged request), then a steal of the largest
// stealable range of a started file whose origin has shown it honours Range,
// then the next file. So files overlap: a connection with
// nothing left to take in the current file starts the next one instead of
// idling at its tail. The per-host cap counts the host a request goes to (a
// Hub's CDN once a file's first request was redirected there).
// A stop request (FetchHooks::stop) wakes curl_multi_poll through a
// std::stop_callback; the loop then settles every open file as kCancelled.
#pragma once

#include <curl/curl.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "transfer/engine.hpp"
#include "transfer/file_job.hpp"
#include "transfer/hash_worker.hpp"
#include "transfer/segment_transfer.hpp"
#include "transfer/task_thread.hpp"

namespace modelcache::transfer {

class FetchLoop {
 public:
  FetchLoop(const core::TransferSettings& settings, const std::vector<FetchRequest>& requests,
            const FetchHooks& hooks);
  ~FetchLoop();
  FetchLoop(const FetchLoop&) = delete;
  FetchLoop& operator=(const FetchLoop&) = delete;

  std::vector<Result<FetchResult>> run();

 private:
  struct MultiHandle {
    CURLM* multi;
    MultiHandle();
    ~MultiHandle();
  };

  void copy_local_files();
  void schedule();
  bool claim_missing_pieces();
  bool steal();
  bool open_next_job();
  bool has_slot(const FileJob& job) const;
  void open_job(FileJob& job);
  void start(FileJob& job, SegmentId id);
  bool drain_done();
  bool abort_stalled();
  void on_done(CURL* easy, CURLcode rc);
  void release(CURL* easy);
  // Gives back the connection slot `t` holds (start() took it).
  void free_slot(const SegmentTransfer& t);
  void on_retry(FileJob& job, SegmentId id, const TransferOutcome& out);
  void on_url_expired(FileJob& job, SegmentId id, const TransferOutcome& out);
  void on_all_bytes_in(FileJob& job);
  bool check_finishing_jobs();
  void cancel_transfers(FileJob& job);
  // `why` is a whole message: it is logged as it is.
  void restart_fresh(FileJob& job, std::string_view why);
  void fail(FileJob& job, Error error);
  // Stop requested: every file not settled (but one whose fdatasync is under
  // way: that one once the sync is over) becomes kCancelled, its data kept.
  void cancel_all();
  void settle_cancelled(FileJob& job);
  Error cancelled_error(const FetchRequest& r) const;
  void settled(std::size_t index);
  void report_progress(bool force);
  int poll_timeout_ms() const;

  core::TransferSettings settings_;
  const std::vector<FetchRequest>& requests_;
  const FetchHooks& hooks_;
  std::vector<Result<FetchResult>> results_;

  MultiHandle multi_;
  // Wakes curl_multi_poll when stop is requested; destroyed before multi_ (its
  // destructor waits for a callback that is running).
  std::optional<std::stop_callback<std::function<void()>>> wake_on_stop_;
  bool cancelled_ = false;
  std::vector<std::unique_ptr<FileJob>> jobs_;  // null for file:// requests
  HashWorker worker_;                           // stopped before jobs_ go away
  TaskThread syncer_;                           // likewise
  std::map<CURL*, std::unique_ptr<SegmentTransfer>> transfers_;
  std::map<std::string, int> active_per_host_;
  int active_ = 0;

  EngineProgress progress_;  // progress_.files: monotone per-file figures
  std::uint64_t local_bytes_ = 0;
  Clock::time_point last_progress_{};
};

}  // namespace modelcache::transfer
