// Letterbox: the image scaled to fit the model's input keeping its aspect ratio,
// centred, the rest grey (114, as Ultralytics pads). Detections come back in input
// pixels; undo() maps them to the original image.
#pragma once

#include <opencv2/core.hpp>

namespace modelcache::onnx {

struct Letterbox {
  double scale = 1.0;  // input pixels per original pixel
  int pad_x = 0;       // left padding in input pixels
  int pad_y = 0;       // top padding
  int image_width = 0;
  int image_height = 0;
};

// Pure geometry for an image of w x h into an input of in_w x in_h.
Letterbox letterbox_for(int w, int h, int in_w, int in_h);

// The BGR image letterboxed into a [1, 3, in_h, in_w] float blob, RGB, 0..1.
cv::Mat letterbox_blob(const cv::Mat& bgr, const Letterbox& lb, int in_w, int in_h);

// A box (centre and size, input pixels) in original pixels, clipped to the image.
cv::Rect2d undo_letterbox(const Letterbox& lb, double cx, double cy, double w, double h);

}  // namespace modelcache::onnx
