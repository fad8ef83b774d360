#include "server/daemon.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stop_token>
#include <thread>

#include <fmt/format.h>

#include "core/config.hpp"
#include "modelcache/cache.hpp"
#include "net/curl_setup.hpp"
#include "server/health_routes.hpp"
#include "server/http_server.hpp"
#include "server/hub_mirror.hpp"
#include "server/metrics.hpp"
#include "server/model_metrics.hpp"
#include "server/model_resolver.hpp"
#include "server/model_routes.hpp"
#include "server/native_routes.hpp"
#include "server/pull_jobs.hpp"
#include "server/pull_through.hpp"
#include "server/tenant_gate.hpp"
#include "server/tenants.hpp"
#include "store/root_check.hpp"
#include "server/upstream_hub.hpp"
#include "store/store.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace modelcache::server {

Status parse_listen(std::string_view text, DaemonOptions& options) {
  auto colon = text.rfind(':');
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("--listen '{}': expected HOST:PORT, e.g. 127.0.0.1:8080 (port 0: any free port)", text));
  };
  if (colon == std::string_view::npos) return bad();
  auto port = util::parse_int(text.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) return bad();
  std::string_view host = text.substr(0, colon);
  options.host = host.empty() ? "127.0.0.1" : std::string(host);
  options.port = static_cast<std::uint16_t>(*port);
  return {};
}

Status run_daemon(const DaemonOptions& options) {
  // Signals are taken by one thread with sigwait: block them here, before any
  // thread starts, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // sendfile to a client that left must be an error, not a death

  if (!options.upstream_hf.empty()) ::setenv("HF_ENDPOINT", options.upstream_hf.c_str(), 1);
  // The daemon pulls with each client's own token, never with one of its own: a
  // pull without a token must prove that the repo is public (server/access_guard.hpp).
  ::unsetenv("HF_TOKEN");
  ::unsetenv("HUGGING_FACE_HUB_TOKEN");

  // libcurl's global init (and OpenSSL's under it) runs here, on the main thread
  // before any other starts, as libcurl asks; done lazily by the first pull it ran
  // on a connection thread and left that thread's OpenSSL error state behind when
  // the daemon stopped during a pull (LeakSanitizer, test_serve.py).
  net::ensure_curl_global_init();

  // Bad --repo or --api-keys: a one-line error before anything listens.
  RepoNames names;
  for (const auto& spec : options.repos) {
    if (auto s = names.add(spec); !s) return s;
  }
  std::optional<Tenants> tenants;
  if (!options.api_keys.empty()) {
    auto loaded = Tenants::load(options.api_keys, names);
    if (!loaded) return std::unexpected(loaded.error());
    tenants = std::move(*loaded);
  }

  auto config = core::Config::from_env();
  if (!config) return std::unexpected(config.error());
  auto cache = Cache::open();
  if (!cache) return std::unexpected(cache.error());
  // The same root rules as Cache::open (MODELCACHE_SHARED_GROUP, MODELCACHE_ALLOW_SHARED_ROOT).
  auto store = store::Store::open(cache->root(), store::root_policy(*config));
  if (!store) return std::unexpected(store.error());

  std::stop_source stop_pulls;
  std::atomic<bool> draining{false};
  // Access answers live as long as a branch's ref does (MODELCACHE_REF_TTL).
  UpstreamHub upstream(config->hf_endpoint, config->transfer);
  AccessGuard guard(upstream, config->ref_ttl);
  Metrics metrics;
  PullThrough pulls(*cache, std::move(*store), guard, config->ref_ttl, stop_pulls.get_token(), metrics);
  pulls.set_repo_names(&names);
  HubMirror mirror(pulls, upstream);
  PullJobs jobs(pulls);  // after `pulls`: destroyed first, joining the job threads
  NativeApi native(pulls, jobs);
  ModelMetrics model_metrics;
  manager::ManagerLimits model_limits{.max_models = options.max_models.value_or(config->models.max_models),
                                      .memory_budget = options.memory_budget.value_or(0)};
  manager::ModelManager models(manager::default_registry(config->onnx_plugin), pull_resolver(pulls), model_limits, &model_metrics);
  ModelApi model_api(models, model_metrics, native);
  models.start(config->models.pinned, config->models.preload);  // before listening: READY once served
  auto route = [&](const HttpRequest& request) -> HttpResponse {
    if (auto r = health_route(request, draining ? Readiness::kDraining : Readiness::kReady)) return std::move(*r);
    if (auto r = metrics_route(request, metrics)) {
      if (r->status == 200) r->body += model_metrics.render();
      return std::move(*r);
    }
    if (auto r = model_api.handle(request)) return std::move(*r);
    if (auto r = native.handle(request)) return std::move(*r);
    if (auto r = mirror.handle(request)) return std::move(*r);
    return error_response(404, "", "Not Found");
  };
  TenantGate gate(tenants ? &*tenants : nullptr);
  auto handler = [&](const HttpRequest& request) -> HttpResponse {
    auto start = std::chrono::steady_clock::now();
    HttpResponse response = gate.route(request, route);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    metrics.record_request(route_of(request), response.status, took.count());
    if (request.method != "HEAD") metrics.add_served(response.content_length());
    return response;
  };
  ServerLimits limits;
  limits.body_limit = &ModelApi::body_limit;  // images: larger bodies on POST /v1/infer only
  auto server = HttpServer::listen(options.host, options.port, limits, handler);
  if (!server) return std::unexpected(server.error());

  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    util::log(util::LogLevel::kInfo, "serve: signal {}: draining", sig);
    draining = true;
    stop_pulls.request_stop();
    (*server)->stop();
  });
  std::string host = options.host.find(':') != std::string::npos && options.host.front() != '['
                         ? "[" + options.host + "]"
                         : options.host;
  std::printf("listening on http://%s:%u\n", host.c_str(), static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);
  (*server)->serve();
  // serve() also returns when poll() fails; the signal thread must not wait forever.
  if (!draining) pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return {};
}

}  // namespace modelcache::server
