#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.hpp"

namespace modelcache::cli {

int& exit_status() {
  static int status = 0;
  return status;
}

int report_error(const Error& error) {
  std::fprintf(stderr, "modelcache: error: %s\n", error.message.c_str());
  return 1;
}

}  // namespace modelcache::cli

int main(int argc, char** argv) {
  CLI::App app{"modelcache: fetch ML model weights into a verified local cache"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "modelcache 0.1.0");
  modelcache::cli::add_pull(app);
  modelcache::cli::add_path(app);
  modelcache::cli::add_ls(app);
  modelcache::cli::add_verify(app);
  modelcache::cli::add_prefetch(app);
  modelcache::cli::add_lock(app);
  modelcache::cli::add_resolve(app);
  modelcache::cli::add_du(app);
  modelcache::cli::add_rm(app);
  modelcache::cli::add_gc(app);
  modelcache::cli::add_prune(app);
  modelcache::cli::add_purge(app);
  modelcache::cli::add_export(app);
  modelcache::cli::add_import(app);
  modelcache::cli::add_serve(app);
  modelcache::cli::add_inspect(app);
  modelcache::cli::add_infer(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return modelcache::cli::exit_status();
}
