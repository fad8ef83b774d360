// Bare OpenCV: cv::dnn::readNet of an ONNX file, the baseline for
// bench/onnx_swap.cpp. Prints one line of JSON.
//
//   bench_onnx_readnet MODEL.onnx ROUNDS
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <opencv2/dnn.hpp>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_onnx_readnet MODEL.onnx ROUNDS\n");
    return 2;
  }
  int rounds = std::atoi(argv[2]);
  { cv::dnn::Net warm = cv::dnn::readNet(argv[1]); }
  std::vector<double> seconds;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    { cv::dnn::Net net = cv::dnn::readNet(argv[1]); }
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf("{\"median_s\": %.4f, \"min_s\": %.4f}\n", seconds[seconds.size() / 2], seconds[0]);
}
