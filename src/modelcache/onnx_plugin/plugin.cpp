// The extern "C" side of libmodelcache_onnx.so (onnx_plugin.h). Every OpenCV
// call is inside a try: an exception never leaves the plugin, it becomes the
// error line.
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "onnx_plugin/image_header.hpp"
#include "onnx_plugin/letterbox.hpp"
#include "onnx_plugin/onnx_plugin.h"
#include "onnx_plugin/postprocess.hpp"

#define MC_ONNX_EXPORT extern "C" __attribute__((visibility("default")))

struct mc_onnx_net {
  cv::dnn::Net net;
  std::mutex forward_mutex;  // cv::dnn::Net::forward is not thread-safe
  int input_width = 0;
  int input_height = 0;
  std::vector<int> output_shape;
  std::uint64_t bytes_held = 0;
};

namespace {

using namespace modelcache::onnx;

int set_error(char* err, std::size_t err_size, int code, const std::string& message) {
  if (err && err_size > 0) {
    // One line: OpenCV's messages can hold newlines ("... in function 'x'\n").
    std::string line = message;
    std::replace(line.begin(), line.end(), '\n', ' ');
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::snprintf(err, err_size, "%s", line.c_str());
  }
  return code;
}

// cv::Exception::err is "<msg>", or for the ONNX importer "> Node [Op]:(name) parse
// error: OpenCV(4.6.0) /path/file.cpp:123: error: (-215:Assertion failed) <msg> in
// function 'f' >": keep the node and the message, drop source paths and codes.
std::string opencv_message(const cv::Exception& e) {
  std::string m = e.err.empty() ? e.what() : e.err;
  for (std::size_t p; (p = m.find("OpenCV(")) != std::string::npos;) {
    std::size_t code = m.find("error: (", p);
    std::size_t end = code == std::string::npos ? code : m.find(") ", code);
    if (end == std::string::npos) break;
    m.erase(p, end + 2 - p);
  }
  for (std::size_t p; (p = m.find(" in function '")) != std::string::npos;) {
    std::size_t end = m.find('\'', p + 14);
    m.erase(p, end == std::string::npos ? std::string::npos : end + 1 - p);
  }
  auto first = m.find_first_not_of("> \n");
  auto last = m.find_last_not_of("> \n");
  m = first == std::string::npos ? std::string("unknown error") : m.substr(first, last - first + 1);
  return "OpenCV: " + m;
}

std::vector<int> shape_of(const cv::Mat& m) {
  std::vector<int> s;
  for (int i = 0; i < m.dims; ++i) s.push_back(m.size[i]);
  return s;
}

// Forward of one blob; the caller holds no lock.
cv::Mat forward(mc_onnx_net& n, const cv::Mat& blob) {
  std::lock_guard lock(n.forward_mutex);
  n.net.setInput(blob);
  return n.net.forward().clone();  // forward() returns a view into the net's buffers
}

int check_shape(const mc_onnx_params& p, const cv::Mat& out, char* err,
                std::size_t err_size) {
  auto s = shape_of(out);
  bool ok = p.task == MC_ONNX_TASK_CLASSIFICATION
                ? (s.size() == 2 && s[0] == 1 && s[1] == p.num_classes)
                : (s.size() == 3 && s[0] == 1 && s[1] == 4 + p.num_classes && s[2] > 0);
  if (ok && out.type() == CV_32F) return MC_ONNX_OK;
  std::string text;
  for (int d : s) text += (text.empty() ? "" : ",") + std::to_string(d);
  return set_error(err, err_size, MC_ONNX_FAILED,
                   "model output [" + text + "] does not fit the task (" +
                       (p.task == MC_ONNX_TASK_CLASSIFICATION ? "classification: [1," : "object-detection: [1,4+") +
                       std::to_string(p.num_classes) + (p.task == MC_ONNX_TASK_CLASSIFICATION ? "]" : ",N]") +
                       " float)");
}

int infer(mc_onnx_net& n, const std::uint8_t* data, std::size_t size, const mc_onnx_params& p,
          mc_onnx_result* result, char* err, std::size_t err_size) {
  HeaderCheck h = check_image_header(data, size, p.max_pixels);
  if (h.status != HeaderStatus::kOk) return set_error(err, err_size, MC_ONNX_BAD_INPUT, h.message);
  cv::Mat bgr = cv::imdecode(cv::Mat(1, static_cast<int>(size), CV_8U, const_cast<std::uint8_t*>(data)),
                             cv::IMREAD_COLOR);
  if (bgr.empty()) return set_error(err, err_size, MC_ONNX_BAD_INPUT, "cannot decode the image (corrupt or truncated)");
  if (bgr.cols != static_cast<int>(h.header.width) || bgr.rows != static_cast<int>(h.header.height))
    return set_error(err, err_size, MC_ONNX_BAD_INPUT, "the image decoded to another size than its header says");
  Letterbox lb = letterbox_for(bgr.cols, bgr.rows, n.input_width, n.input_height);
  cv::Mat out = forward(n, letterbox_blob(bgr, lb, n.input_width, n.input_height));
  if (int rc = check_shape(p, out, err, err_size); rc != MC_ONNX_OK) return rc;
  std::vector<mc_onnx_prediction> preds;
  const auto* scores = out.ptr<float>();
  if (p.task == MC_ONNX_TASK_CLASSIFICATION) {
    for (const ClassScore& c : classify(scores, p.num_classes, p.top_k))
      preds.push_back({0, 0, 0, 0, c.confidence, c.class_id});
  } else {
    for (const Detection& d : detect(scores, p.num_classes, out.size[2], p.confidence, p.iou, lb)) {
      preds.push_back({static_cast<float>(d.box.x + d.box.width / 2), static_cast<float>(d.box.y + d.box.height / 2),
                       static_cast<float>(d.box.width), static_cast<float>(d.box.height), d.confidence,
                       d.class_id});
    }
  }
  result->image_width = bgr.cols;
  result->image_height = bgr.rows;
  result->count = static_cast<int>(preds.size());
  result->predictions = nullptr;
  if (!preds.empty()) {
    result->predictions = new mc_onnx_prediction[preds.size()];
    std::copy(preds.begin(), preds.end(), result->predictions);
  }
  return MC_ONNX_OK;
}

}  // namespace

MC_ONNX_EXPORT int mc_onnx_abi_version(void) { return MC_ONNX_ABI_VERSION; }

MC_ONNX_EXPORT int mc_onnx_load(const void* onnx, size_t size, int input_width, int input_height,
                                mc_onnx_net** out, char* err, size_t err_size) {
  *out = nullptr;
  if (input_width <= 0 || input_height <= 0 || input_width > 16384 || input_height > 16384)
    return set_error(err, err_size, MC_ONNX_FAILED, "model input size out of range");
  try {
    // OpenCV logs importer errors on stderr too; the error line already says what
    // failed, and a daemon's stderr is its log.
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    auto n = std::make_unique<mc_onnx_net>();
    n->net = cv::dnn::readNetFromONNX(static_cast<const char*>(onnx), size);
    if (n->net.empty()) return set_error(err, err_size, MC_ONNX_FAILED, "OpenCV read an empty network");
    n->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    n->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    n->input_width = input_width;
    n->input_height = input_height;
    cv::Mat grey(input_height, input_width, CV_8UC3, cv::Scalar(114, 114, 114));
    Letterbox lb = letterbox_for(input_width, input_height, input_width, input_height);
    cv::Mat probe = forward(*n, letterbox_blob(grey, lb, input_width, input_height));
    n->output_shape = shape_of(probe);
    if (n->output_shape.empty() || n->output_shape.size() > MC_ONNX_MAX_DIMS)
      return set_error(err, err_size, MC_ONNX_FAILED, "model output has no shape");
    std::size_t weights = 0, blobs = 0;
    n->net.getMemoryConsumption(cv::dnn::MatShape{1, 3, input_height, input_width}, weights, blobs);
    n->bytes_held = weights + blobs;
    *out = n.release();
    return MC_ONNX_OK;
  } catch (const cv::Exception& e) {
    return set_error(err, err_size, MC_ONNX_FAILED, opencv_message(e));
  } catch (const std::bad_alloc&) {
    return set_error(err, err_size, MC_ONNX_FAILED, "out of memory loading the model");
  } catch (const std::exception& e) {
    return set_error(err, err_size, MC_ONNX_FAILED, e.what());
  } catch (...) {
    return set_error(err, err_size, MC_ONNX_FAILED, "unknown error loading the model");
  }
}

MC_ONNX_EXPORT void mc_onnx_free(mc_onnx_net* net) {
  try {
    delete net;
  } catch (...) {  // destructors of OpenCV objects should not throw; never let one out
  }
}

MC_ONNX_EXPORT int mc_onnx_output_shape(const mc_onnx_net* net, int64_t dims[MC_ONNX_MAX_DIMS]) {
  for (std::size_t i = 0; i < net->output_shape.size(); ++i) dims[i] = net->output_shape[i];
  return static_cast<int>(net->output_shape.size());
}

MC_ONNX_EXPORT uint64_t mc_onnx_bytes_held(const mc_onnx_net* net) { return net->bytes_held; }

MC_ONNX_EXPORT int mc_onnx_infer(mc_onnx_net* net, const void* image, size_t image_size,
                                 const mc_onnx_params* params, mc_onnx_result* out, char* err,
                                 size_t err_size) {
  *out = mc_onnx_result{};
  if (image_size == 0) return set_error(err, err_size, MC_ONNX_BAD_INPUT, "empty image");
  if (image_size > static_cast<size_t>(INT32_MAX))
    return set_error(err, err_size, MC_ONNX_BAD_INPUT, "image file too large");
  try {
    return infer(*net, static_cast<const std::uint8_t*>(image), image_size, *params, out, err, err_size);
  } catch (const cv::Exception& e) {
    // A decoder failure on a hostile file is the image's fault; anything the
    // model raises is the model's.
    return set_error(err, err_size, MC_ONNX_FAILED, opencv_message(e));
  } catch (const std::bad_alloc&) {
    return set_error(err, err_size, MC_ONNX_FAILED, "out of memory during inference");
  } catch (const std::exception& e) {
    return set_error(err, err_size, MC_ONNX_FAILED, e.what());
  } catch (...) {
    return set_error(err, err_size, MC_ONNX_FAILED, "unknown error during inference");
  }
}

MC_ONNX_EXPORT void mc_onnx_result_free(mc_onnx_result* result) {
  delete[] result->predictions;
  *result = mc_onnx_result{};
}

MC_ONNX_EXPORT int mc_onnx_self_test(mc_onnx_net* net, const mc_onnx_params* params, char* err,
                                     size_t err_size) {
  try {
    std::vector<uchar> png;
    cv::Mat grey(net->input_height, net->input_width, CV_8UC3, cv::Scalar(114, 114, 114));
    if (!cv::imencode(".png", grey, png))
      return set_error(err, err_size, MC_ONNX_FAILED, "cannot encode the test image");
    mc_onnx_result result;
    char inner[512];
    int rc = mc_onnx_infer(net, png.data(), png.size(), params, &result, inner, sizeof inner);
    if (rc != MC_ONNX_OK) return set_error(err, err_size, MC_ONNX_FAILED, std::string("test inference failed: ") + inner);
    mc_onnx_result_free(&result);
    return MC_ONNX_OK;
  } catch (const cv::Exception& e) {
    return set_error(err, err_size, MC_ONNX_FAILED, opencv_message(e));
  } catch (...) {
    return set_error(err, err_size, MC_ONNX_FAILED, "unknown error in the test inference");
  }
}
