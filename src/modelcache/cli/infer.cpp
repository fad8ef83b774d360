// modelcache infer PATH_OR_REF --image FILE [--confidence C] [--iou I] [--top-k K]
// Loads an ONNX model (a snapshot directory, or a model already in the cache)
// through the same loader the daemon uses and prints its predictions for one
// image as JSON. Never uses the network.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/commands.hpp"
#include "core/config.hpp"
#include "modelcache/cache.hpp"
#include "runtime/onnx_loader.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

namespace modelcache::cli {

namespace {

namespace fs = std::filesystem;

struct InferArgs {
  std::string target;
  std::string image;
  std::optional<double> confidence;
  std::optional<double> iou;
  std::optional<int> top_k;
};

// A directory is used as it is; anything else is a model ref answered from the
// cache. `lease` keeps the snapshot from gc while the model loads.
Result<fs::path> model_dir(const std::string& target, std::shared_ptr<void>& lease) {
  if (util::exists(target)) return fs::path(target);
  auto cache = Cache::open();
  if (!cache) return std::unexpected(cache.error());
  auto snapshot = cache->cached(target, PullOptions{});
  if (!snapshot) {
    if (target.find("://") != std::string::npos) return std::unexpected(snapshot.error());
    return fail(snapshot.error().code, util::printable(target) +
                                           ": no such directory, and as a model reference: " +
                                           snapshot.error().message);
  }
  lease = snapshot->lease;
  return snapshot->path;
}

Status run(const InferArgs& args) {
  auto config = core::Config::from_env();
  if (!config) return std::unexpected(config.error());
  auto image = util::read_file(args.image);
  if (!image) return std::unexpected(image.error());
  std::shared_ptr<void> lease;
  auto dir = model_dir(args.target, lease);
  if (!dir) return std::unexpected(dir.error());
  runtime::OnnxLoader loader(runtime::OnnxLoaderOptions{.plugin_path = config->onnx_plugin});
  if (!loader.claims(*dir))
    return fail(ErrorCode::kInvalidArgument, util::printable(dir->string()) + ": no ONNX model in it");
  auto model = loader.load(*dir);
  if (!model) return std::unexpected(model.error());
  manager::InferInput input{std::move(*image), args.confidence, args.iou, args.top_k};
  auto result = (*model)->infer(input);
  if (!result) return std::unexpected(result.error());
  std::printf("%s\n", result->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  return {};
}

}  // namespace

void add_infer(CLI::App& app) {
  auto args = std::make_shared<InferArgs>();
  CLI::App* cmd = app.add_subcommand("infer", "Run an ONNX model (directory or cached model) on one image, print JSON");
  cmd->add_option("target", args->target, "a snapshot directory, or a model reference already in the cache")
      ->required();
  cmd->add_option("--image", args->image, "the image file (PNG, JPEG or BMP)")->required();
  cmd->add_option("--confidence", args->confidence, "detection: minimum box confidence (default 0.4)");
  cmd->add_option("--iou", args->iou, "detection: NMS IoU threshold (default 0.3)");
  cmd->add_option("--top-k", args->top_k, "classification: classes listed (default 5)");
  cmd->callback([args] {
    if (auto ok = run(*args); !ok) exit_status() = report_error(ok.error());
  });
}

}  // namespace modelcache::cli
