// A one-line progress bar on stderr (bytes, rate, ETA), drawn only on a terminal.
#pragma once

#include <chrono>

#include "modelcache/cache.hpp"

namespace modelcache::cli {

class ProgressBar {
 public:
  enum class Mode { kAuto, kOff };
  explicit ProgressBar(Mode mode);
  ~ProgressBar();  // clears the line
  void update(const Progress& progress);

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace modelcache::cli
