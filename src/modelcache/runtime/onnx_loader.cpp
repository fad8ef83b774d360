#include "runtime/onnx_loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "runtime/mapped_file.hpp"
#include "runtime/onnx_graph.hpp"
#include "runtime/onnx_plugin_api.hpp"
#include "runtime/strict_json.hpp"
#include "util/fs.hpp"
#include "util/path_check.hpp"
#include "util/strings.hpp"

namespace modelcache::runtime {

namespace {

namespace fs = std::filesystem;
using manager::InferInput;
using manager::LoadedModel;

constexpr const char* kConfigFile = "modelcache-model.json";
constexpr const char* kClassNamesFile = "class_names.txt";

struct ModelConfig {
  std::optional<std::string> task;  // "classification" | "object-detection"
  std::optional<std::string> file;
};

std::string shown(const fs::path& p) { return util::printable(p.string(), 300); }

std::vector<std::string> top_level_onnx(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& name : util::list_dir(dir)) {
    if (name.size() > 5 && name.ends_with(".onnx") && util::is_regular_file(dir / name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// {"task": ..., "file": ...}, both optional, nothing else.
Result<ModelConfig> read_config(const fs::path& dir) {
  ModelConfig config;
  fs::path path = dir / kConfigFile;
  if (!util::exists(path)) return config;
  auto text = util::read_file(path);
  if (!text) return std::unexpected(text.error());
  auto json = parse_strict_json(*text, kConfigFile);
  if (!json) return std::unexpected(json.error());
  auto bad = [](std::string why) { return fail(ErrorCode::kInvalidArgument, std::string(kConfigFile) + ": " + why); };
  if (!json->is_object()) return bad("not a JSON object");
  for (const auto& [key, value] : json->items()) {
    if (key == "task") {
      if (!value.is_string() || (value != "classification" && value != "object-detection"))
        return bad("\"task\" must be \"classification\" or \"object-detection\"");
      config.task = value.get<std::string>();
    } else if (key == "file") {
      if (!value.is_string()) return bad("\"file\" must be a string");
      auto file = value.get<std::string>();
      if (auto ok = util::validate_origin_path(file); !ok) return bad("\"file\": " + ok.error().message);
      config.file = file;
    } else {
      return bad("unknown key \"" + util::printable(key, 60) + "\" (allowed: task, file)");
    }
  }
  return config;
}

Result<std::vector<std::string>> read_class_names(const fs::path& dir) {
  fs::path path = dir / kClassNamesFile;
  if (!util::exists(path))
    return fail(ErrorCode::kNotFound, std::string(kClassNamesFile) + " is missing: the model needs one class name per line");
  auto text = util::read_file(path);
  if (!text) return std::unexpected(text.error());
  std::vector<std::string> names = util::split(*text, '\n');
  if (!names.empty() && names.back().empty()) names.pop_back();  // the last line's newline
  for (auto& n : names) {
    if (!n.empty() && n.back() == '\r') n.pop_back();
    if (n.empty()) return fail(ErrorCode::kInvalidArgument, std::string(kClassNamesFile) + " has an empty line");
  }
  return names;
}

Result<fs::path> model_file(const fs::path& dir, const ModelConfig& config) {
  if (config.file) {
    fs::path p = dir / *config.file;
    if (!util::is_regular_file(p))
      return fail(ErrorCode::kNotFound, std::string(kConfigFile) + ": \"file\" " + util::printable(*config.file) + " is not in the snapshot");
    return p;
  }
  auto files = top_level_onnx(dir);
  if (files.empty()) return fail(ErrorCode::kNotFound, "no .onnx file in " + shown(dir));
  if (files.size() > 1)
    return fail(ErrorCode::kInvalidArgument, std::to_string(files.size()) + " .onnx files in the snapshot (" +
                                                 util::printable(files[0], 80) + ", " + util::printable(files[1], 80) +
                                                 ", ...): name one in " + kConfigFile + " as {\"file\": ...}");
  return dir / files[0];
}

Result<std::shared_ptr<const MappedFile>> map_file(const fs::path& path) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::unexpected(util::errno_error("open", path, errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(util::errno_error("stat", path, errno));
  if (st.st_size <= 0) return fail(ErrorCode::kIntegrity, shown(path) + ": empty file, not an ONNX model");
  return MappedFile::map(fd.get(), static_cast<std::uint64_t>(st.st_size), path, PrefaultMethod::kNone);
}

std::string dims_text(const std::vector<std::int64_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
  return s + "]";
}

struct NetDeleter {
  const OnnxPluginApi* api;
  void operator()(mc_onnx_net* n) const { api->free_net(n); }
};
using NetPtr = std::unique_ptr<mc_onnx_net, NetDeleter>;

class OnnxModel final : public LoadedModel {
 public:
  OnnxModel(const OnnxPluginApi* api, NetPtr net, int task, std::vector<std::string> names,
            std::uint64_t max_pixels)
      : api_(api), net_(std::move(net)), task_(task), names_(std::move(names)), max_pixels_(max_pixels) {}

  std::string_view format() const override { return "onnx"; }
  std::string_view task() const override {
    return task_ == MC_ONNX_TASK_CLASSIFICATION ? "classification" : "object-detection";
  }
  std::uint64_t bytes_held() const override { return api_->bytes_held(net_.get()); }

  mc_onnx_params params(const InferInput& in) const {
    mc_onnx_params p{};
    p.task = task_;
    p.num_classes = static_cast<int>(names_.size());
    p.confidence = static_cast<float>(in.confidence.value_or(kDefaultConfidence));
    p.iou = static_cast<float>(in.iou.value_or(kDefaultIou));
    p.top_k = in.top_k.value_or(kDefaultTopK);
    p.max_pixels = max_pixels_;
    return p;
  }

  Status self_test() {
    char err[512] = "";
    mc_onnx_params p = params({});
    if (api_->self_test(net_.get(), &p, err, sizeof err) != MC_ONNX_OK) return fail(ErrorCode::kIntegrity, err);
    return {};
  }

  Result<nlohmann::json> infer(const InferInput& in) override {
    if (in.confidence && !(*in.confidence >= 0 && *in.confidence <= 1))
      return fail(ErrorCode::kInvalidArgument, "confidence must be between 0 and 1");
    if (in.iou && !(*in.iou >= 0 && *in.iou <= 1)) return fail(ErrorCode::kInvalidArgument, "iou must be between 0 and 1");
    if (in.top_k && *in.top_k < 1) return fail(ErrorCode::kInvalidArgument, "top_k must be at least 1");
    mc_onnx_params p = params(in);
    mc_onnx_result r{};
    char err[512] = "";
    int rc = api_->infer(net_.get(), in.image.data(), in.image.size(), &p, &r, err, sizeof err);
    if (rc == MC_ONNX_BAD_INPUT) return fail(ErrorCode::kInvalidArgument, err);
    if (rc != MC_ONNX_OK) return fail(ErrorCode::kInternal, std::string("inference failed: ") + err);
    nlohmann::json preds = nlohmann::json::array();
    for (int i = 0; i < r.count; ++i) {
      const mc_onnx_prediction& x = r.predictions[i];
      // The plugin checked the output against names_.size(); check again, cheaply.
      const std::string& name = x.class_id >= 0 && static_cast<std::size_t>(x.class_id) < names_.size()
                                    ? names_[static_cast<std::size_t>(x.class_id)]
                                    : names_.front();
      if (task_ == MC_ONNX_TASK_DETECTION) {
        preds.push_back({{"x", x.x}, {"y", x.y}, {"width", x.width}, {"height", x.height},
                         {"confidence", x.confidence}, {"class", name}, {"class_id", x.class_id}});
      } else {
        preds.push_back({{"class", name}, {"class_id", x.class_id}, {"confidence", x.confidence}});
      }
    }
    nlohmann::json out{{"predictions", preds}, {"image", {{"width", r.image_width}, {"height", r.image_height}}}};
    if (task_ == MC_ONNX_TASK_CLASSIFICATION && r.count > 0) {
      out["top"] = preds[0]["class"];
      out["confidence"] = preds[0]["confidence"];
    }
    api_->result_free(&r);
    return out;
  }

 private:
  const OnnxPluginApi* api_;
  NetPtr net_;
  int task_;
  std::vector<std::string> names_;
  std::uint64_t max_pixels_;
};

}  // namespace

bool OnnxLoader::claims(const fs::path& dir) const {
  return util::exists(dir / kConfigFile) || !top_level_onnx(dir).empty();
}

Result<std::unique_ptr<LoadedModel>> OnnxLoader::load(const fs::path& dir) {
  auto config = read_config(dir);
  if (!config) return std::unexpected(config.error());
  auto path = model_file(dir, *config);
  if (!path) return std::unexpected(path.error());
  std::string label = util::printable(path->filename().string(), 120);
  auto mapping = map_file(*path);
  if (!mapping) return std::unexpected(mapping.error());
  std::string_view bytes(reinterpret_cast<const char*>((*mapping)->data()), (*mapping)->size());

  auto inputs = read_onnx_inputs(bytes, label);
  if (!inputs) return std::unexpected(inputs.error());
  if (inputs->size() != 1)
    return fail(ErrorCode::kInvalidArgument, label + ": the model has " + std::to_string(inputs->size()) +
                                                 " inputs; modelcache needs one image input");
  const OnnxInput& in = inputs->front();
  const auto& d = in.dims;
  if (in.elem_type != 1 || d.size() != 4 || (d[0] != 1 && d[0] != -1) || d[1] != 3 || d[2] <= 0 || d[3] <= 0 ||
      d[2] > 16384 || d[3] > 16384)
    return fail(ErrorCode::kInvalidArgument,
                label + ": input " + util::printable(in.name, 60) + " is " + dims_text(d) +
                    (in.elem_type == 1 ? "" : " (not float)") +
                    "; modelcache needs a float [1,3,H,W] image with a fixed H and W (export with a fixed size)");

  auto api = onnx_plugin(onnx_plugin_path(options_.plugin_path));
  if (!api) return std::unexpected(api.error());
  mc_onnx_net* raw = nullptr;
  char err[512] = "";
  if ((*api)->load(bytes.data(), bytes.size(), static_cast<int>(d[3]), static_cast<int>(d[2]), &raw, err,
                   sizeof err) != MC_ONNX_OK)
    return fail(ErrorCode::kIntegrity, label + ": " + err);
  NetPtr net(raw, NetDeleter{*api});
  mapping->reset();  // OpenCV copied the weights; the file's pages can go

  std::int64_t dims[MC_ONNX_MAX_DIMS];
  int ndims = (*api)->output_shape(net.get(), dims);
  std::vector<std::int64_t> out(dims, dims + ndims);
  int task = 0;
  std::int64_t classes = 0;
  bool is_cls = out.size() == 2 && out[0] == 1 && out[1] >= 1;
  bool is_det = out.size() == 3 && out[0] == 1 && out[1] >= 5 && out[2] >= 1;
  if (config->task) {
    task = *config->task == "classification" ? MC_ONNX_TASK_CLASSIFICATION : MC_ONNX_TASK_DETECTION;
  } else if (is_cls || is_det) {
    task = is_cls ? MC_ONNX_TASK_CLASSIFICATION : MC_ONNX_TASK_DETECTION;
  } else {
    return fail(ErrorCode::kInvalidArgument, label + ": output " + dims_text(out) +
                                                 " is neither [1,C] (classification) nor [1,4+C,N] (YOLOv8 detection)");
  }
  if (task == MC_ONNX_TASK_CLASSIFICATION ? !is_cls : !is_det)
    return fail(ErrorCode::kInvalidArgument, label + ": output " + dims_text(out) + " does not fit task " +
                                                 (task == MC_ONNX_TASK_CLASSIFICATION ? "classification ([1,C])"
                                                                                       : "object-detection ([1,4+C,N])"));
  classes = task == MC_ONNX_TASK_CLASSIFICATION ? out[1] : out[1] - 4;

  auto names = read_class_names(dir);
  if (!names) return std::unexpected(names.error());
  if (static_cast<std::int64_t>(names->size()) != classes)
    return fail(ErrorCode::kInvalidArgument, std::string(kClassNamesFile) + " has " + std::to_string(names->size()) +
                                                 " names but the model outputs " + std::to_string(classes) + " classes");
  auto model = std::make_unique<OnnxModel>(*api, std::move(net), task, std::move(*names), options_.max_image_pixels);
  if (auto ok = model->self_test(); !ok) return fail(ok.error().code, label + ": " + ok.error().message);
  return model;
}

}  // namespace modelcache::runtime
