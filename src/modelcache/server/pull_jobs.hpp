// Background pulls started by POST /v1/pull: one thread per job running
// PullThrough::pull, its progress in atomics that GET /v1/jobs/{id} reads. Jobs
// live in memory only; the table keeps the last kMaxJobs (the oldest finished
// ones are dropped first) and refuses a new job when all of them still run.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/model_ref.hpp"
#include "modelcache/cache.hpp"
#include "server/pull_through.hpp"

namespace modelcache::server {

enum class JobState { kRunning, kDone, kFailed };

struct PullJob {
  std::string id;
  std::string model;  // the ref's model id: whose tenants may see the job
  std::atomic<JobState> state{JobState::kRunning};
  std::atomic<std::uint64_t> bytes_done{0};
  std::atomic<std::uint64_t> bytes_total{0};
  std::atomic<int> files_done{0};
  std::atomic<int> files_total{0};
  // Written once by the job's thread before `state` leaves kRunning (release),
  // read only after an acquire load of a final state.
  std::string snapshot;
  std::string error;
  std::thread thread;
};

class PullJobs {
 public:
  static constexpr std::size_t kMaxJobs = 1000;

  explicit PullJobs(PullThrough& pulls) : pulls_(pulls) {}
  // Waits for every job's thread (the daemon's stop token has cancelled their pulls).
  ~PullJobs();

  // The new job's id; kInvalidArgument when kMaxJobs jobs are all running.
  Result<std::string> start(std::string ref_text, core::ModelRef ref, PullOptions options);
  std::shared_ptr<const PullJob> find(const std::string& id) const;

 private:
  PullThrough& pulls_;
  mutable std::mutex mutex_;
  std::deque<std::shared_ptr<PullJob>> jobs_;  // oldest first
  std::map<std::string, std::shared_ptr<PullJob>> by_id_;
};

}  // namespace modelcache::server
