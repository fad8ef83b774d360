// What an LRU swap of an ONNX model costs: OnnxLoader::load of a cached snapshot
// (parse the input shape, readNetFromONNX in the plugin, a probe forward, the test
// inference) and its destruction (the eviction), vs bare OpenCV readNet of the
// same file (bench/onnx_readnet.cpp). Prints one line of JSON.
//
//   bench_onnx_swap SNAPSHOT_DIR PLUGIN_SO ROUNDS
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "runtime/onnx_loader.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: bench_onnx_swap SNAPSHOT_DIR PLUGIN_SO ROUNDS\n");
    return 2;
  }
  modelcache::runtime::OnnxLoader loader({.plugin_path = argv[2]});
  int rounds = std::atoi(argv[3]);
  // The first load also dlopens the plugin and OpenCV: once per process, not per swap.
  auto warm = loader.load(argv[1]);
  if (!warm) {
    std::fprintf(stderr, "load failed: %s\n", warm.error().message.c_str());
    return 1;
  }
  unsigned long long bytes = (*warm)->bytes_held();
  warm->reset();
  std::vector<double> seconds;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto model = loader.load(argv[1]);
    if (!model) return 1;
    model->reset();  // the eviction
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf("{\"median_s\": %.4f, \"min_s\": %.4f, \"bytes_held\": %llu}\n", seconds[seconds.size() / 2],
              seconds[0], bytes);
}
