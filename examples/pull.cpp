// Smallest program that links libmodelcache: pull a reference, print where it is.
//   example_pull hf://org/name@main
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
  for (const auto& f : snapshot->files) {
    std::printf("  %s  %llu bytes  sha256:%s\n", f.path.c_str(),
                static_cast<unsigned long long>(f.size), f.sha256.c_str());
  }
  return 0;
}
