/* The C ABI of libmodelcache_onnx.so, the OpenCV DNN plugin that
 * runtime/onnx_loader.cpp dlopens (runtime/onnx_plugin_api.cpp says why it is a
 * plugin). Plain C types only: no C++ type, exception or allocator crosses it.
 * Every function returning int returns MC_ONNX_OK or an MC_ONNX_* error and then
 * writes one line (NUL-terminated, truncated to err_size) into err. The plugin
 * owns what it allocates (nets, results) and frees it in its *_free functions. */
#ifndef MODELCACHE_ONNX_PLUGIN_H
#define MODELCACHE_ONNX_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any change below; the loader refuses a plugin of another version. */
#define MC_ONNX_ABI_VERSION 1

#define MC_ONNX_OK 0
#define MC_ONNX_BAD_INPUT 1 /* the image: undecodable, too large, unsupported format */
#define MC_ONNX_FAILED 2    /* the model: OpenCV refused it, or an output of the wrong shape */

#define MC_ONNX_TASK_CLASSIFICATION 1
#define MC_ONNX_TASK_DETECTION 2 /* YOLOv8 output [1, 4+C, N] */

#define MC_ONNX_MAX_DIMS 8

typedef struct mc_onnx_net mc_onnx_net;

typedef struct {
  int task;                /* MC_ONNX_TASK_* */
  int num_classes;         /* C, checked against the output */
  float confidence;        /* detection: keep boxes scoring at least this */
  float iou;               /* detection: per-class NMS IoU threshold */
  int top_k;               /* classification: predictions returned (best first) */
  uint64_t max_pixels;     /* images whose header says more are refused undecoded */
} mc_onnx_params;

typedef struct {
  /* detection: box centre and size in the original image's pixels;
   * classification: all 0 */
  float x, y, width, height;
  float confidence;
  int class_id;
} mc_onnx_prediction;

typedef struct {
  int image_width, image_height;
  int count;
  mc_onnx_prediction* predictions; /* count entries, best first (detection: by score) */
} mc_onnx_result;

int mc_onnx_abi_version(void);

/* Reads an ONNX model from memory (the caller may free `onnx` after the call)
 * for an input of [1, 3, input_height, input_width], then runs a forward pass of
 * a grey image to learn the output shape. */
int mc_onnx_load(const void* onnx, size_t size, int input_width, int input_height,
                 mc_onnx_net** out, char* err, size_t err_size);
void mc_onnx_free(mc_onnx_net* net);

/* The first output's shape as seen at load. Returns the number of dims. */
int mc_onnx_output_shape(const mc_onnx_net* net, int64_t dims[MC_ONNX_MAX_DIMS]);

/* Bytes the net holds: OpenCV's own count of weights plus the blobs of one
 * forward pass at the input size (Net::getMemoryConsumption). */
uint64_t mc_onnx_bytes_held(const mc_onnx_net* net);

/* Decode, letterbox, forward (one at a time per net: OpenCV's forward is not
 * thread-safe), post-process. Safe to call from many threads on one net. On
 * MC_ONNX_OK the caller frees *out with mc_onnx_result_free. */
int mc_onnx_infer(mc_onnx_net* net, const void* image, size_t image_size,
                  const mc_onnx_params* params, mc_onnx_result* out, char* err, size_t err_size);
void mc_onnx_result_free(mc_onnx_result* result);

/* mc_onnx_infer on a grey PNG of the input size, encoded here: the test
 * inference at load, through the whole path. */
int mc_onnx_self_test(mc_onnx_net* net, const mc_onnx_params* params, char* err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif /* MODELCACHE_ONNX_PLUGIN_H */
