#include "onnx_plugin/letterbox.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

namespace modelcache::onnx {

Letterbox letterbox_for(int w, int h, int in_w, int in_h) {
  Letterbox lb;
  lb.image_width = w;
  lb.image_height = h;
  lb.scale = std::min(static_cast<double>(in_w) / w, static_cast<double>(in_h) / h);
  int new_w = std::clamp(static_cast<int>(std::lround(w * lb.scale)), 1, in_w);
  int new_h = std::clamp(static_cast<int>(std::lround(h * lb.scale)), 1, in_h);
  lb.pad_x = (in_w - new_w) / 2;
  lb.pad_y = (in_h - new_h) / 2;
  return lb;
}

cv::Mat letterbox_blob(const cv::Mat& bgr, const Letterbox& lb, int in_w, int in_h) {
  int new_w = std::clamp(static_cast<int>(std::lround(lb.image_width * lb.scale)), 1, in_w);
  int new_h = std::clamp(static_cast<int>(std::lround(lb.image_height * lb.scale)), 1, in_h);
  cv::Mat canvas(in_h, in_w, CV_8UC3, cv::Scalar(114, 114, 114));
  cv::Mat roi = canvas(cv::Rect(lb.pad_x, lb.pad_y, new_w, new_h));
  if (new_w == bgr.cols && new_h == bgr.rows) {
    bgr.copyTo(roi);
  } else {
    cv::resize(bgr, roi, roi.size(), 0, 0, cv::INTER_LINEAR);
  }
  return cv::dnn::blobFromImage(canvas, 1.0 / 255.0, cv::Size(), cv::Scalar(), /*swapRB=*/true,
                                /*crop=*/false, CV_32F);
}

cv::Rect2d undo_letterbox(const Letterbox& lb, double cx, double cy, double w, double h) {
  double x1 = (cx - w / 2 - lb.pad_x) / lb.scale;
  double y1 = (cy - h / 2 - lb.pad_y) / lb.scale;
  double x2 = (cx + w / 2 - lb.pad_x) / lb.scale;
  double y2 = (cy + h / 2 - lb.pad_y) / lb.scale;
  x1 = std::clamp(x1, 0.0, static_cast<double>(lb.image_width));
  x2 = std::clamp(x2, 0.0, static_cast<double>(lb.image_width));
  y1 = std::clamp(y1, 0.0, static_cast<double>(lb.image_height));
  y2 = std::clamp(y2, 0.0, static_cast<double>(lb.image_height));
  return {x1, y1, x2 - x1, y2 - y1};
}

}  // namespace modelcache::onnx
