// A background thread that runs posted tasks one after another: the engine's
// fdatasync of finished files. Its own thread, not the hashing one, so that
// while one file's sync waits for the disk the other files keep being hashed
// (and downloaded: the curl loop never blocks on either).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace modelcache::transfer {

class TaskThread {
 public:
  // `on_done` runs on the thread after each task: the engine uses it to wake its
  // curl_multi_poll.
  explicit TaskThread(std::function<void()> on_done);
  ~TaskThread();  // runs the tasks still queued, then joins
  TaskThread(const TaskThread&) = delete;
  TaskThread& operator=(const TaskThread&) = delete;

  void post(std::function<void()> task);

 private:
  void run();

  std::function<void()> on_done_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::thread thread_;
};

}  // namespace modelcache::transfer
