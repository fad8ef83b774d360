// The OpenCV plugin is dlopened (the same idea as net/curl_loader.cpp): Debian's
// OpenCV is shared-only and built on the shared libstdc++, while modelcache links
// libstdc++ statically for a fast start; and the ~40 libraries OpenCV's DNN module
// pulls in (protobuf, ...) would cost every CLI start milliseconds. So only a
// process that loads an ONNX model maps them, through a C-only ABI: no C++ object,
// exception or allocation crosses it, so the two libstdc++ never meet.
#include "runtime/onnx_plugin_api.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "util/fs.hpp"
#include "util/strings.hpp"

namespace modelcache::runtime {

namespace fs = std::filesystem;

namespace {

template <class F>
bool bind(void* handle, F& fn, const char* symbol) {
  fn = reinterpret_cast<F>(::dlsym(handle, symbol));
  return fn != nullptr;
}

Result<const OnnxPluginApi*> open_plugin(const fs::path& path) {
#ifndef MODELCACHE_HAVE_ONNX_PLUGIN
  if (path.empty() || !util::exists(path))
    return fail(ErrorCode::kNotFound,
                "modelcache was built without OpenCV: install libopencv-dnn-dev and rebuild");
#endif
  std::string shown = util::printable(path.string(), 400);
  if (!util::exists(path))
    return fail(ErrorCode::kNotFound, "ONNX plugin not found at " + shown +
                                          " (build target modelcache_onnx, or set MODELCACHE_ONNX_PLUGIN)");
  // RTLD_LOCAL: OpenCV's symbols stay out of the global namespace.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return fail(ErrorCode::kNotFound, "cannot load the ONNX plugin " + shown + ": " +
                                          util::printable(why ? why : "unknown error", 300) +
                                          " (install libopencv-dnn4.6)");
  }
  int (*version)() = nullptr;
  if (!bind(handle, version, "mc_onnx_abi_version") || version() != MC_ONNX_ABI_VERSION) {
    ::dlclose(handle);
    return fail(ErrorCode::kNotFound, "the ONNX plugin " + shown + " is from another modelcache version: rebuild it");
  }
  static OnnxPluginApi api;
  bool ok = bind(handle, api.load, "mc_onnx_load") && bind(handle, api.free_net, "mc_onnx_free") &&
            bind(handle, api.output_shape, "mc_onnx_output_shape") &&
            bind(handle, api.bytes_held, "mc_onnx_bytes_held") && bind(handle, api.infer, "mc_onnx_infer") &&
            bind(handle, api.result_free, "mc_onnx_result_free") &&
            bind(handle, api.self_test, "mc_onnx_self_test");
  if (!ok) {
    ::dlclose(handle);
    return fail(ErrorCode::kNotFound, "the ONNX plugin " + shown + " lacks a function: rebuild it");
  }
  // Never dlclosed: nets it made may outlive any one loader.
  return &api;
}

}  // namespace

fs::path onnx_plugin_path(const fs::path& override) {
  if (!override.empty()) return override;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return exe.parent_path() / "libmodelcache_onnx.so";
}

Result<const OnnxPluginApi*> onnx_plugin(const fs::path& path) {
  static std::once_flag once;
  static Result<const OnnxPluginApi*> result = fail(ErrorCode::kInternal, "unset");
  std::call_once(once, [&] { result = open_plugin(path); });
  return result;
}

}  // namespace modelcache::runtime
