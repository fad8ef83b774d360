// Classification scores and YOLOv8 decoding, NMS and the letterbox, on outputs
// written by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "onnx_plugin/letterbox.hpp"
#include "onnx_plugin/postprocess.hpp"

namespace {

using namespace modelcache::onnx;

TEST(Classify, SoftmaxesLogitsAndKeepsTheTopK) {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f};
  auto top = classify(logits.data(), 4, 3);
  ASSERT_EQ(top.size(), 3u);
  double total = std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0);
  EXPECT_EQ(top[0].class_id, 1);  // ties: lower class id first
  EXPECT_EQ(top[1].class_id, 3);
  EXPECT_EQ(top[2].class_id, 2);
  EXPECT_NEAR(top[0].confidence, std::exp(3.0) / total, 1e-6);
  EXPECT_NEAR(top[2].confidence, std::exp(2.0) / total, 1e-6);
  EXPECT_EQ(classify(logits.data(), 4, 10).size(), 4u);
  EXPECT_TRUE(classify(logits.data(), 0, 3).empty());
}

TEST(Classify, LeavesProbabilitiesAsTheyAre) {
  std::vector<float> probs = {0.2f, 0.7f, 0.1f};
  auto top = classify(probs.data(), 3, 1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].class_id, 1);
  EXPECT_FLOAT_EQ(top[0].confidence, 0.7f);
  // In [0, 1] but not summing to 1: scores, softmaxed.
  std::vector<float> sigmoids = {0.9f, 0.8f, 0.1f};
  EXPECT_NEAR(classify(sigmoids.data(), 3, 1)[0].confidence,
              std::exp(0.9) / (std::exp(0.9) + std::exp(0.8) + std::exp(0.1)), 1e-6);
}

TEST(Letterbox, CentresAndUndoes) {
  // 200x100 into 64x64: scale 0.32, 64x32, 16 rows of padding on top.
  Letterbox lb = letterbox_for(200, 100, 64, 64);
  EXPECT_DOUBLE_EQ(lb.scale, 0.32);
  EXPECT_EQ(lb.pad_x, 0);
  EXPECT_EQ(lb.pad_y, 16);
  cv::Rect2d r = undo_letterbox(lb, 32, 32, 16, 8);  // the centre of the input
  EXPECT_NEAR(r.x + r.width / 2, 100, 1e-9);
  EXPECT_NEAR(r.y + r.height / 2, 50, 1e-9);
  EXPECT_NEAR(r.width, 50, 1e-9);
  EXPECT_NEAR(r.height, 25, 1e-9);
  // A box reaching into the padding is clipped to the image.
  cv::Rect2d c = undo_letterbox(lb, 4, 14, 8, 8);  // input y 10..18: 6 rows in the padding
  EXPECT_DOUBLE_EQ(c.x, 0);
  EXPECT_DOUBLE_EQ(c.y, 0);
  EXPECT_NEAR(c.height, 2 / 0.32, 1e-9);

  cv::Mat img(100, 200, CV_8UC3, cv::Scalar(0, 0, 255));  // BGR red
  cv::Mat blob = letterbox_blob(img, lb, 64, 64);
  ASSERT_EQ(blob.dims, 4);
  EXPECT_EQ(blob.size[1], 3);
  EXPECT_EQ(blob.size[2], 64);
  const float* p = blob.ptr<float>();
  EXPECT_FLOAT_EQ(p[0], 114.0f / 255);            // R plane, padding row 0
  EXPECT_FLOAT_EQ(p[32 * 64 + 10], 1.0f);          // R plane inside the image
  EXPECT_FLOAT_EQ(p[2 * 64 * 64 + 32 * 64], 0.0f);  // B plane inside the image
}

// out[r * N + n] for YOLOv8 [1, 4+C, N].
std::vector<float> yolo(const std::vector<std::vector<float>>& boxes, int classes) {
  int n = static_cast<int>(boxes.size());
  std::vector<float> out(static_cast<std::size_t>((4 + classes) * n));
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < 4 + classes; ++r) out[r * n + i] = boxes[i][r];
  return out;
}

TEST(Detect, FiltersSuppressesPerClassAndUndoesTheLetterbox) {
  // cx, cy, w, h, score class 0, score class 1
  auto out = yolo({{20, 20, 20, 20, 0.9f, 0.1f},
                   {21, 21, 20, 20, 0.8f, 0.1f},    // same class, IoU 0.82: suppressed
                   {22, 22, 20, 20, 0.1f, 0.7f},    // overlaps too, other class: kept
                   {50, 50, 10, 10, 0.3f, 0.2f},    // under the confidence
                   {50, 50, 0, 10, 0.95f, 0.0f}},   // empty box
                  2);
  Letterbox lb = letterbox_for(128, 128, 64, 64);  // scale 2 back
  auto d = detect(out.data(), 2, 5, 0.5f, 0.5f, lb);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].class_id, 0);
  EXPECT_FLOAT_EQ(d[0].confidence, 0.9f);
  EXPECT_NEAR(d[0].box.x, 20, 1e-9);  // (20 - 10) * 2
  EXPECT_NEAR(d[0].box.width, 40, 1e-9);
  EXPECT_EQ(d[1].class_id, 1);
  EXPECT_FLOAT_EQ(d[1].confidence, 0.7f);
  EXPECT_NEAR(d[1].box.x + d[1].box.width / 2, 44, 1e-9);

  // A looser IoU threshold keeps the second box of class 0.
  EXPECT_EQ(detect(out.data(), 2, 5, 0.5f, 0.9f, lb).size(), 3u);
  // A lower confidence keeps the fourth.
  EXPECT_EQ(detect(out.data(), 2, 5, 0.25f, 0.5f, lb).size(), 3u);
}

}  // namespace
