// modelcache serve [--listen HOST:PORT] [--upstream-hf URL] [--api-keys FILE] [--repo NAME=REF]...
//                  [--max-models N] [--memory-budget SIZE]
// modelcache serve --hash-key   (reads an api key on stdin, prints the sha256 hex the keys file stores)
// Runs the node daemon: a Hugging Face–compatible pull-through mirror on the
// same store as the CLI (server/daemon.hpp). Stops on SIGTERM or SIGINT.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>

#include "cli/commands.hpp"
#include "server/daemon.hpp"
#include "server/tenants.hpp"
#include "util/strings.hpp"

namespace modelcache::cli {

namespace {
struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  std::string upstream_hf;
  std::string api_keys;
  std::vector<std::string> repos;
  bool hash_key = false;
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
  cmd->add_option("--api-keys", args->api_keys,
                  "JSON file of tenants: hashed api keys and the model globs each may use")
      ->check(CLI::ExistingFile);
  cmd->add_option("--repo", args->repos, "NAME=REF: serve REF (s3://, gs://, az://, https://, a path) as Hub repo NAME")
      ->take_all();
  cmd->add_flag("--hash-key", args->hash_key, "Read an api key on stdin, print its sha256 hex for --api-keys, exit");
  cmd->add_option("--max-models", args->max_models,
                  "Models loaded at once; the least recently used goes first (default: MAX_ACTIVE_MODELS, else 8)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  cmd->add_option("--memory-budget", args->memory_budget,
                  "Memory the loaded models may hold together, e.g. 2GiB (default: no limit)");
  cmd->callback([args] {
    if (args->hash_key) {
      std::string key(std::istreambuf_iterator<char>(std::cin), {});
      std::string hex = server::hash_api_key(key);
      if (key.empty() || key == "\n") {
        exit_status() = report_error(Error{ErrorCode::kInvalidArgument, "--hash-key: no key on stdin"});
        return;
      }
      std::printf("%s\n", hex.c_str());
      return;
    }
    server::DaemonOptions options;
    if (auto s = server::parse_listen(args->listen, options); !s) {
      exit_status() = report_error(s.error());
      return;
    }
    options.upstream_hf = args->upstream_hf;
    options.api_keys = args->api_keys;
    options.repos = args->repos;
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
