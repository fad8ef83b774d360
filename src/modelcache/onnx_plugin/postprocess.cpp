#include "onnx_plugin/postprocess.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <opencv2/dnn.hpp>

namespace modelcache::onnx {

std::vector<ClassScore> classify(const float* scores, int num_classes, int top_k) {
  if (num_classes <= 0) return {};
  std::vector<ClassScore> out(static_cast<std::size_t>(num_classes));
  bool probabilities = num_classes > 0;
  double sum = 0;
  for (int c = 0; c < num_classes; ++c) {
    if (!(scores[c] >= 0.0f && scores[c] <= 1.0f)) probabilities = false;  // NaN too
    sum += scores[c];
  }
  if (probabilities && std::abs(sum - 1.0) <= 1e-3) {
    for (int c = 0; c < num_classes; ++c) out[c] = {c, scores[c]};
  } else {
    float max = *std::max_element(scores, scores + num_classes);
    double total = 0;
    std::vector<double> e(out.size());
    for (int c = 0; c < num_classes; ++c) total += e[c] = std::exp(static_cast<double>(scores[c]) - max);
    for (int c = 0; c < num_classes; ++c) out[c] = {c, static_cast<float>(e[c] / total)};
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ClassScore& a, const ClassScore& b) { return a.confidence > b.confidence; });
  out.resize(std::min<std::size_t>(out.size(), static_cast<std::size_t>(std::max(top_k, 0))));
  return out;
}

std::vector<Detection> detect(const float* out, int num_classes, int num_boxes, float confidence,
                              float iou, const Letterbox& lb) {
  // Candidates per class, boxes still in input pixels (NMS is scale-invariant
  // only per image, so do it where the model drew them).
  struct PerClass {
    std::vector<cv::Rect2d> boxes;
    std::vector<float> scores;
  };
  std::map<int, PerClass> by_class;
  for (int n = 0; n < num_boxes; ++n) {
    int best = -1;
    float best_score = 0;
    for (int c = 0; c < num_classes; ++c) {
      float s = out[(4 + c) * num_boxes + n];
      if (best < 0 || s > best_score) {
        best = c;
        best_score = s;
      }
    }
    if (best < 0 || !(best_score >= confidence)) continue;
    float cx = out[n], cy = out[num_boxes + n], w = out[2 * num_boxes + n], h = out[3 * num_boxes + n];
    if (!(w > 0 && h > 0) || !std::isfinite(cx) || !std::isfinite(cy)) continue;
    auto& pc = by_class[best];
    pc.boxes.emplace_back(cx - w / 2, cy - h / 2, w, h);
    pc.scores.push_back(best_score);
  }
  std::vector<Detection> result;
  for (auto& [class_id, pc] : by_class) {
    std::vector<int> keep;
    cv::dnn::NMSBoxes(pc.boxes, pc.scores, confidence, iou, keep);
    for (int i : keep) {
      const cv::Rect2d& b = pc.boxes[i];
      Detection d;
      d.box = undo_letterbox(lb, b.x + b.width / 2, b.y + b.height / 2, b.width, b.height);
      d.confidence = pc.scores[i];
      d.class_id = class_id;
      if (d.box.width > 0 && d.box.height > 0) result.push_back(d);
    }
  }
  std::stable_sort(result.begin(), result.end(),
                   [](const Detection& a, const Detection& b) { return a.confidence > b.confidence; });
  return result;
}

}  // namespace modelcache::onnx
