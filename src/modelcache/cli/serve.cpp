// modelcache serve [--listen HOST:PORT] [--upstream-hf URL]
// Runs the node daemon: a Hugging Face–compatible pull-through mirror on the
// same store as the CLI (server/daemon.hpp). Stops on SIGTERM or SIGINT.
#include <memory>

#include "cli/commands.hpp"
#include "server/daemon.hpp"

namespace modelcache::cli {

namespace {
struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  std::string upstream_hf;
};
}  // namespace

void add_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the daemon: a Hugging Face-compatible pull-through mirror");
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--upstream-hf", args->upstream_hf, "Hub to pull from (default: HF_ENDPOINT, else huggingface.co)");
  cmd->callback([args] {
    server::DaemonOptions options;
    if (auto s = server::parse_listen(args->listen, options); !s) {
      exit_status() = report_error(s.error());
      return;
    }
    options.upstream_hf = args->upstream_hf;
    if (auto s = server::run_daemon(options); !s) exit_status() = report_error(s.error());
  });
}

}  // namespace modelcache::cli
