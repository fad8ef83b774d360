// One function pair per subcommand: add_<name>(app) registers its flags, and the
// callback it installs runs it. main.cpp only wires them together.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "modelcache/error.hpp"

namespace modelcache::cli {

// Exit status of the subcommand that ran (set by its callback).
int& exit_status();
// Prints "modelcache: error: <message>" on stderr and returns the exit status for it.
int report_error(const Error& error);

void add_pull(CLI::App& app);
void add_path(CLI::App& app);
void add_ls(CLI::App& app);
void add_verify(CLI::App& app);
void add_prefetch(CLI::App& app);
void add_lock(CLI::App& app);
void add_resolve(CLI::App& app);
// Cache management (cli/manage.hpp).
void add_du(CLI::App& app);
void add_rm(CLI::App& app);
void add_gc(CLI::App& app);
void add_prune(CLI::App& app);
void add_purge(CLI::App& app);
// Hugging Face cache interop (cache/hf_export.hpp, cache/hf_import.hpp).
void add_export(CLI::App& app);
void add_import(CLI::App& app);
// The daemon (server/daemon.hpp).
void add_serve(CLI::App& app);
// Safetensors tensor table (modelcache/safetensors.hpp).
void add_inspect(CLI::App& app);
// ONNX inference on one image (runtime/onnx_loader.hpp).
void add_infer(CLI::App& app);

}  // namespace modelcache::cli
