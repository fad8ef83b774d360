// The hashing thread of a fetch() call: it keeps every file's HashFollower
// caught up so the curl loop on the calling thread never hashes. One thread, not
// one per file: SHA-256 of a single file cannot be parallelised and the machine
// this targets has few cores, one of which the curl loop needs. (fdatasync runs
// on a TaskThread of its own, so a sync never holds up hashing.)
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "transfer/hash_follower.hpp"

namespace modelcache::transfer {

class HashWorker {
 public:
  // `on_event` runs on the worker thread whenever a follower finishes: the engine
  // uses it to wake its curl_multi_poll.
  explicit HashWorker(std::function<void()> on_event);
  ~HashWorker();  // stops and joins
  HashWorker(const HashWorker&) = delete;
  HashWorker& operator=(const HashWorker&) = delete;

  void follow(std::shared_ptr<HashFollower> follower);
  void forget(const std::shared_ptr<HashFollower>& follower);
  // New bytes were reported to some follower.
  void notify();

 private:
  void run();

  std::function<void()> on_event_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<HashFollower>> followers_;  // guarded by mu_
  bool pending_ = false;                                  // guarded by mu_
  bool stop_ = false;                                     // guarded by mu_
  std::thread thread_;
};

}  // namespace modelcache::transfer
