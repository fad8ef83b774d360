// What the model's output means: class probabilities (classification) or YOLOv8
// boxes (detection). Pure functions over the output floats, unit-tested.
#pragma once

#include <vector>

#include "onnx_plugin/letterbox.hpp"

namespace modelcache::onnx {

struct ClassScore {
  int class_id = 0;
  float confidence = 0;
};

// Softmax of the C scores unless they already are probabilities (all in [0, 1],
// summing to 1 within 1e-3: a model exported with its Softmax), then the best
// top_k (ties: lower class id first).
std::vector<ClassScore> classify(const float* scores, int num_classes, int top_k);

struct Detection {
  cv::Rect2d box;  // original image pixels (x, y = top-left)
  float confidence = 0;
  int class_id = 0;
};

// YOLOv8 output [1, 4+C, N] (row-major: out[r * N + n]); rows 0-3 are cx, cy, w, h
// in input pixels, rows 4.. the class scores (already sigmoid-ed in Ultralytics'
// export). Each candidate keeps its best class if it scores >= confidence; then
// NMS per class at `iou`; then boxes are mapped back through the letterbox.
// Sorted by confidence, best first.
std::vector<Detection> detect(const float* out, int num_classes, int num_boxes, float confidence,
                              float iou, const Letterbox& lb);

}  // namespace modelcache::onnx
