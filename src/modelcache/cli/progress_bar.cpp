#include "cli/progress_bar.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "util/strings.hpp"

namespace modelcache::cli {

ProgressBar::ProgressBar(Mode mode)
    : enabled_(mode == Mode::kAuto && ::isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

void ProgressBar::update(const Progress& p) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  drawn_ = true;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? static_cast<double>(p.bytes_done) / secs : 0;
  double frac = p.bytes_total ? static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total) : 0;
  if (frac > 1) frac = 1;
  constexpr int kWidth = 24;
  std::string bar(static_cast<std::size_t>(frac * kWidth), '#');
  bar.resize(kWidth, '.');
  std::string eta = "--";
  if (rate > 0 && p.bytes_total >= p.bytes_done) {
    eta = std::to_string(static_cast<long long>(static_cast<double>(p.bytes_total - p.bytes_done) / rate)) + "s";
  }
  std::fprintf(stderr, "\r\033[K[%s] %s / %s  %s/s  ETA %s  (%d/%d files)", bar.c_str(),
               util::format_bytes(p.bytes_done).c_str(), util::format_bytes(p.bytes_total).c_str(),
               util::format_bytes(static_cast<std::uint64_t>(rate)).c_str(), eta.c_str(), p.files_done,
               p.files_total);
  std::fflush(stderr);
}

}  // namespace modelcache::cli
