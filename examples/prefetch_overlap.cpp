// Start-up work overlapping the download of the weights: the pattern of a model
// server that starts its prefetch first, imports its libraries meanwhile, then
// blocks until the weights are there.
//
//   example_prefetch_overlap REF [--startup-ms N] [--busy] [--file PATH] [--allow GLOB]...
//
// --startup-ms  how long the simulated start-up takes (default 2000)
// --busy        spin the CPU during start-up instead of sleeping
// --file PATH   after start-up, wait for this one file first and say when it was there
//
// Prints the download time, the start-up time, the total, and the time saved
// compared with downloading first and starting up afterwards.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "modelcache/modelcache.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void startup_work(std::chrono::milliseconds duration, bool busy) {
  if (!busy) {
    std::this_thread::sleep_for(duration);
    return;
  }
  const auto until = Clock::now() + duration;
  volatile std::uint64_t x = 0;
  while (Clock::now() < until) {
    for (int i = 0; i < 10000; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
  }
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s REF [--startup-ms N] [--busy] [--file PATH] [--allow GLOB]...\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  modelcache::PrefetchItem item;
  std::chrono::milliseconds startup{2000};
  bool busy = false;
  std::string first_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--busy") {
      busy = true;
    } else if (a == "--startup-ms" && i + 1 < argc) {
      startup = std::chrono::milliseconds(std::strtoll(argv[++i], nullptr, 10));
    } else if (a == "--file" && i + 1 < argc) {
      first_file = argv[++i];
    } else if (a == "--allow" && i + 1 < argc) {
      item.options.allow.push_back(argv[++i]);
    } else if (a.starts_with("-") || !item.ref.empty()) {
      return usage(argv[0]);
    } else {
      item.ref = a;
    }
  }
  if (item.ref.empty()) return usage(argv[0]);

  const auto t0 = Clock::now();
  auto prefetch = modelcache::Prefetch::start({item});  // returns at once
  std::printf("prefetch started in %.3f s\n", since(t0));

  startup_work(startup, busy);
  const double startup_s = since(t0);
  std::printf("start-up: %.2f s\n", startup_s);

  if (!first_file.empty()) {
    auto path = prefetch.wait_file(first_file);
    if (!path) {
      std::fprintf(stderr, "error: %s\n", path.error().message.c_str());
      return 1;
    }
    std::printf("file %s ready at %.2f s: %s\n", first_file.c_str(), since(t0), path->c_str());
  }

  auto snapshots = prefetch.wait();
  const double total_s = since(t0);
  if (!snapshots) {
    std::fprintf(stderr, "error: %s\n", snapshots.error().message.c_str());
    return 1;
  }
  const modelcache::Snapshot& snap = snapshots->front();
  // The pull's own duration: from its thread's start to the snapshot's publication.
  const double download_s = snap.seconds;
  const double sequential_s = download_s + startup_s;
  std::printf("download: %.2f s (%zu files, %llu bytes, %llu downloaded)\n", download_s,
              snap.files.size(), static_cast<unsigned long long>(snap.bytes_total),
              static_cast<unsigned long long>(snap.bytes_downloaded));
  std::printf("total:    %.2f s\n", total_s);
  std::printf("saved:    %.2f s (one after the other: %.2f s)\n", sequential_s - total_s, sequential_s);
  std::printf("snapshot: %s\n", snap.path.c_str());
  return 0;
}
