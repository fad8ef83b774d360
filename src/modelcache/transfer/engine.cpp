#include "transfer/engine.hpp"

#include "net/curl_setup.hpp"
#include "transfer/fetch_loop.hpp"

namespace modelcache::transfer {

Engine::Engine(const core::TransferSettings& settings) : settings_(settings) {
  net::ensure_curl_global_init();
}

Engine::~Engine() = default;

std::vector<Result<FetchResult>> Engine::fetch(
    const std::vector<FetchRequest>& requests,
    const std::function<void(const EngineProgress&)>& on_progress) {
  FetchHooks hooks;
  hooks.on_progress = on_progress;
  return fetch(requests, hooks);
}

std::vector<Result<FetchResult>> Engine::fetch(const std::vector<FetchRequest>& requests,
                                               const FetchHooks& hooks) {
  // Everything mutable lives in the loop, so concurrent calls share nothing.
  FetchLoop loop(settings_, requests, hooks);
  return loop.run();
}

}  // namespace modelcache::transfer
