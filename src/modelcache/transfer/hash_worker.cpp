#include "transfer/hash_worker.hpp"

#include <algorithm>

namespace modelcache::transfer {

namespace {
constexpr std::size_t kChunk = 1 << 20;  // per follower per turn, so files share the thread
}

HashWorker::HashWorker(std::function<void()> on_event)
    : on_event_(std::move(on_event)), thread_([this] { run(); }) {}

HashWorker::~HashWorker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void HashWorker::follow(std::shared_ptr<HashFollower> follower) {
  {
    std::lock_guard lock(mu_);
    followers_.push_back(std::move(follower));
    pending_ = true;
  }
  cv_.notify_one();
}

void HashWorker::forget(const std::shared_ptr<HashFollower>& follower) {
  std::lock_guard lock(mu_);
  std::erase(followers_, follower);
}

void HashWorker::notify() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_one();
}

void HashWorker::run() {
  std::vector<char> buffer(kChunk);
  for (;;) {
    std::vector<std::shared_ptr<HashFollower>> followers;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || pending_; });
      if (stop_) return;
      pending_ = false;
      followers = followers_;
    }
    // Round-robin until nobody has bytes ready; new bytes reported meanwhile set
    // pending_ again, so nothing is missed.
    bool progressed = true;
    while (progressed) {
      progressed = false;
      for (auto& f : followers) {
        if (f->finished()) continue;
        if (f->catch_up(buffer)) {
          progressed = true;
          if (f->finished()) on_event_();
        }
      }
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
  }
}

}  // namespace modelcache::transfer
