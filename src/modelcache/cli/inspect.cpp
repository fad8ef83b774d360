// modelcache inspect PATH_OR_REF [--file F] [--json]: the tensor table of a
// safetensors checkpoint (a file, an index, a directory, or a cached model's
// snapshot). Reads headers only; never uses the network.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "modelcache/cache.hpp"
#include "modelcache/safetensors.hpp"
#include "util/fs.hpp"
#include "util/path_check.hpp"
#include "util/strings.hpp"

namespace modelcache::cli {

namespace {

namespace fs = std::filesystem;

struct InspectArgs {
  std::string target;
  std::string file;
  bool json = false;
};

// An existing path is used as it is; anything else is a model ref answered from
// the cache. `lease` keeps the snapshot from gc while it is read.
Result<fs::path> checkpoint_path(const InspectArgs& args, std::shared_ptr<void>& lease) {
  if (!args.file.empty()) {
    if (auto ok = util::validate_origin_path(args.file); !ok) return std::unexpected(ok.error());
  }
  if (util::exists(args.target))
    return args.file.empty() ? fs::path(args.target) : fs::path(args.target) / args.file;
  auto cache = Cache::open();
  if (!cache) return std::unexpected(cache.error());
  PullOptions options;
  // What must be cached: the safetensors files, or the --file (a file or a folder).
  options.allow = args.file.empty()
                      ? std::vector<std::string>{"*.safetensors", "*.safetensors.index.json"}
                      : std::vector<std::string>{args.file, args.file + "/"};
  auto snapshot = cache->cached(args.target, options);
  if (!snapshot) {
    // Without a scheme the user may have meant a path: say both readings.
    if (args.target.find("://") != std::string::npos) return std::unexpected(snapshot.error());
    return fail(snapshot.error().code,
                util::printable(args.target) +
                    ": no such file, and as a model reference: " + snapshot.error().message);
  }
  lease = snapshot->lease;
  return args.file.empty() ? snapshot->path : snapshot->path / args.file;
}

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

void print_json(const fs::path& path, const SafetensorsFile& file) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : file.tensors()) {
    tensors.push_back({{"name", t.name},
                       {"dtype", dtype_name(t.dtype)},
                       {"shape", t.shape},
                       {"bytes", t.bytes},
                       {"file", file.files()[t.file].filename().string()}});
  }
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : file.files()) files.push_back(f.string());
  nlohmann::json out{{"path", path.string()},
                     {"files", files},
                     {"metadata", file.metadata()},
                     {"tensors", tensors},
                     {"tensor_count", tensors.size()},
                     {"tensor_bytes", file.tensor_bytes()},
                     {"file_bytes", file.mapped_bytes()}};
  // Names were checked as UTF-8 by the header parser; a path need not be.
  std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void print_table(const SafetensorsFile& file) {
  std::size_t width = 6;
  for (const auto& t : file.tensors())
    width = std::max(width, std::min<std::size_t>(util::printable(t.name).size(), 80));
  std::printf("%-*s %-8s %-24s %14s\n", static_cast<int>(width), "TENSOR", "DTYPE", "SHAPE",
              "BYTES");
  for (const auto& t : file.tensors()) {
    std::printf("%-*s %-8s %-24s %14llu\n", static_cast<int>(width),
                util::printable(t.name).c_str(), std::string(dtype_name(t.dtype)).c_str(),
                shape_text(t.shape).c_str(), static_cast<unsigned long long>(t.bytes));
  }
  std::printf("%zu tensors, %llu bytes (%s) in %zu file%s\n", file.tensors().size(),
              static_cast<unsigned long long>(file.tensor_bytes()),
              util::format_bytes(file.tensor_bytes()).c_str(), file.files().size(),
              file.files().size() == 1 ? "" : "s");
}

}  // namespace

void add_inspect(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect",
                                     "Print the tensor table of a safetensors checkpoint (file, "
                                     "index, directory or cached model)");
  cmd->add_option("target", args->target, "a path, or a model reference already in the cache")
      ->required();
  cmd->add_option("--file", args->file, "the file or index inside the directory or snapshot");
  cmd->add_flag("--json", args->json, "one JSON object");
  cmd->callback([args] {
    std::shared_ptr<void> lease;
    auto path = checkpoint_path(*args, lease);
    if (!path) {
      exit_status() = report_error(path.error());
      return;
    }
    auto file = SafetensorsFile::open(*path);
    if (!file) {
      exit_status() = report_error(file.error());
      return;
    }
    if (args->json) {
      print_json(*path, *file);
    } else {
      print_table(*file);
    }
  });
}

}  // namespace modelcache::cli
