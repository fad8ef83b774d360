// `modelcache serve`: the daemon's wiring. Opens the store through the Cache
// API (the CLI may use it at the same time), listens, answers health and Hub
// mirror routes, and on SIGTERM/SIGINT drains: stops accepting, cancels pulls
// in flight (their part files stay for the next pull; nothing half-published),
// lets requests in flight finish for a bounded time, and returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modelcache/error.hpp"

namespace modelcache::server {

struct DaemonOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string upstream_hf;  // empty: HF_ENDPOINT, else https://huggingface.co
  std::string api_keys;            // --api-keys FILE (server/tenants.hpp); empty: no keys needed
  std::vector<std::string> repos;  // --repo NAME=REF (server/repo_names.hpp)
  // The model manager (doc/INFERENCE.md): unset = MAX_ACTIVE_MODELS or 8; no byte limit.
  std::optional<std::size_t> max_models;
  std::optional<std::uint64_t> memory_budget;
};

// "HOST:PORT", "[V6]:PORT" or ":PORT" (127.0.0.1).
Status parse_listen(std::string_view text, DaemonOptions& options);

// Blocks until a signal stops the daemon; prints "listening on http://HOST:PORT"
// on stdout once connections are accepted.
Status run_daemon(const DaemonOptions& options);

}  // namespace modelcache::server
