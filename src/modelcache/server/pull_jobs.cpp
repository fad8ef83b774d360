#include "server/pull_jobs.hpp"

#include <algorithm>
#include <random>
#include <system_error>

#include <fmt/format.h>

namespace modelcache::server {

namespace {

std::string new_job_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

void run_job(PullThrough& pulls, PullJob& job, const std::string& ref_text, const core::ModelRef& ref,
             PullOptions options) {
  options.on_progress = [&job](const Progress& p) {
    job.bytes_done.store(p.bytes_done, std::memory_order_relaxed);
    job.bytes_total.store(p.bytes_total, std::memory_order_relaxed);
    job.files_done.store(p.files_done, std::memory_order_relaxed);
    job.files_total.store(p.files_total, std::memory_order_relaxed);
  };
  auto result = pulls.pull(ref_text, ref, std::move(options));
  if (!result) {
    job.error = result.error().message;
    job.state.store(JobState::kFailed, std::memory_order_release);
    return;
  }
  // Only the path is kept: holding the Snapshot would hold its lease, and
  // DELETE /v1/models would answer 409 for as long as the job is remembered.
  job.snapshot = result->path.string();
  // A pull answered by the store, or shared with another one, reports no
  // progress: the totals are then the bytes this pull downloaded.
  if (job.files_total.load(std::memory_order_relaxed) == 0) {
    job.bytes_total.store(result->bytes_downloaded, std::memory_order_relaxed);
  }
  job.bytes_done.store(job.bytes_total.load(std::memory_order_relaxed), std::memory_order_relaxed);
  job.files_total.store(static_cast<int>(result->files.size()), std::memory_order_relaxed);
  job.files_done.store(static_cast<int>(result->files.size()), std::memory_order_relaxed);
  job.state.store(JobState::kDone, std::memory_order_release);
}

}  // namespace

PullJobs::~PullJobs() {
  std::lock_guard lock(mutex_);
  for (auto& job : jobs_) {
    if (job->thread.joinable()) job->thread.join();
  }
}

Result<std::string> PullJobs::start(std::string ref_text, core::ModelRef ref, PullOptions options) {
  auto job = std::make_shared<PullJob>();
  job->model = ref.id();
  std::lock_guard lock(mutex_);
  if (jobs_.size() >= kMaxJobs) {
    auto finished = std::find_if(jobs_.begin(), jobs_.end(), [](const auto& j) {
      return j->state.load(std::memory_order_acquire) != JobState::kRunning;
    });
    if (finished == jobs_.end()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{} pulls are running already; wait for one to finish", kMaxJobs));
    }
    if ((*finished)->thread.joinable()) (*finished)->thread.join();  // it has returned: no wait
    by_id_.erase((*finished)->id);
    jobs_.erase(finished);
  }
  do {
    job->id = new_job_id();
  } while (by_id_.contains(job->id));
  try {
    job->thread = std::thread([this, job_ptr = job.get(), ref_text = std::move(ref_text), ref = std::move(ref),
                               options = std::move(options)]() mutable {
      run_job(pulls_, *job_ptr, ref_text, ref, std::move(options));
    });
  } catch (const std::system_error& e) {
    return fail(ErrorCode::kInternal, fmt::format("cannot start the pull: {}", e.what()));
  }
  jobs_.push_back(job);
  by_id_.emplace(job->id, job);
  return job->id;
}

std::shared_ptr<const PullJob> PullJobs::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

}  // namespace modelcache::server
