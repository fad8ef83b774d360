// Pulls a reference and keeps the returned Snapshot (and so its lease) alive
// until stdin closes: a library user reading a snapshot while gc runs.
//   example_hold REF   -> prints the snapshot path, then waits for EOF on stdin
#include <cstdio>

#include "modelcache/modelcache.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s REF\n", argv[0]);
    return 2;
  }
  auto cache = modelcache::Cache::open();
  if (!cache) {
    std::fprintf(stderr, "error: %s\n", cache.error().message.c_str());
    return 1;
  }
  auto snapshot = cache->pull(argv[1]);
  if (!snapshot) {
    std::fprintf(stderr, "error: %s\n", snapshot.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", snapshot->path.c_str());
  std::fflush(stdout);
  while (std::fgetc(stdin) != EOF) {
  }
  return 0;
}
