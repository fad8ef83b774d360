#include "server/flight.hpp"

#include <algorithm>

namespace modelcache::server {

void Flight::on_files(std::span<const FileProgress> files) {
  {
    std::lock_guard lock(mu_);
    for (const FileProgress& f : files) {
      FlightFile& mine = files_[f.path];
      mine.state = f.state;
      if (f.bytes_total > 0) mine.size = f.bytes_total;
      mine.ready = std::max(mine.ready, f.bytes_ready);
      if (!f.part.empty()) mine.part = f.part;
      if (!f.blob.empty()) mine.blob = f.blob;
    }
  }
  changed_.notify_all();
}

void Flight::finish(Result<Snapshot> result) {
  {
    std::lock_guard lock(mu_);
    result_ = std::move(result);
  }
  changed_.notify_all();
}

Result<Snapshot> Flight::wait_result() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [this] { return result_.has_value(); });
  return *result_;  // a copy: every waiter holds its own lease
}

std::optional<FlightFile> Flight::wait_file(const std::string& path, const std::optional<FlightFile>& seen,
                                            std::chrono::milliseconds timeout, bool& ended) {
  std::unique_lock lock(mu_);
  auto now = [&]() -> std::optional<FlightFile> {
    auto it = files_.find(path);
    if (it == files_.end()) return std::nullopt;
    return it->second;
  };
  auto moved = [&] {
    if (result_) return true;
    auto f = now();
    if (!f || !seen) return f.has_value();
    return f->state != seen->state || f->ready != seen->ready;
  };
  changed_.wait_for(lock, timeout, moved);
  ended = result_.has_value();
  return now();
}

}  // namespace modelcache::server
