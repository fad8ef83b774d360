// modelcache serve [--listen HOST:PORT] [--upstream-hf URL] [--max-models N] [--memory-budget SIZE]
// Runs the node daemon: a Hugging Face–compatible pull-through mirror on the
// same store as the CLI (server/daemon.hpp). Stops on SIGTERM or SIGINT.
#include <memory>

#include "cli/commands.hpp"
#include "server/daemon.hpp"
#include "util/strings.hpp"

namespace modelcache::cli {

namespace {
struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  std::string upstream_hf;
  std::optional<std::size_t> max_models;
  std::string memory_budget;
};
}  // namespace

void add_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the daemon: a Hugging Face-compatible pull-through mirror");
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--upstream-hf", args->upstream_hf, "Hub to pull from (default: HF_ENDPOINT, else huggingface.co)");
  cmd->add_option("--max-models", args->max_models,
                  "Models loaded at once; the least recently used goes first (default: MAX_ACTIVE_MODELS, else 8)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  cmd->add_option("--memory-budget", args->memory_budget,
                  "Memory the loaded models may hold together, e.g. 2GiB (default: no limit)");
  cmd->callback([args] {
    server::DaemonOptions options;
    if (auto s = server::parse_listen(args->listen, options); !s) {
      exit_status() = report_error(s.error());
      return;
    }
    options.upstream_hf = args->upstream_hf;
    options.max_models = args->max_models;
    if (!args->memory_budget.empty()) {
      options.memory_budget = util::parse_size(args->memory_budget);
      if (!options.memory_budget || *options.memory_budget == 0) {
        exit_status() = report_error(Error{ErrorCode::kInvalidArgument,
                                           "--memory-budget '" + args->memory_budget +
                                               "' is not a size (e.g. 512MiB, 2GiB)"});
        return;
      }
    }
    if (auto s = server::run_daemon(options); !s) exit_status() = report_error(s.error());
  });
}

}  // namespace modelcache::cli
