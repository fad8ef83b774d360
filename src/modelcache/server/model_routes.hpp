// The model manager's routes (doc/INFERENCE.md). A model id is a model
// reference (hf://org/name[@rev], file:///dir, s3://...), percent-encoded as ONE
// path segment:
//   POST   /v1/models/{id}/load    200
//   {"model","state":"READY","format","task","bytes","load_seconds"};
//                                  422 {"error","state":"FAILED"} when the load fails
//   POST   /v1/models/{id}/unload  200; 404 when not loaded
//   GET    /v1/models/{id}         the manager's entry for it; 404 when it has none
//   GET    /v1/models              NativeApi's cached snapshots, each with "loaded": the
//                                  manager's entries on that snapshot; ?loaded=1: the
//                                  manager's entries alone (FAILED ones too)
//   DELETE /v1/models/{ref}        409 while a model of that repo is loaded, unless ?force=1
//                                  (then unloaded first); the rest is NativeApi's
//   POST   /v1/infer/{id}          the loader's JSON plus "model" and "time" (seconds);
//                                  loads on demand
#pragma once

#include <optional>

#include "manager/model_manager.hpp"
#include "server/http_message.hpp"
#include "server/model_metrics.hpp"
#include "server/native_routes.hpp"

namespace modelcache::server {

class ModelApi {
 public:
  ModelApi(manager::ModelManager& models, ModelMetrics& metrics, NativeApi& native)
      : models_(models), metrics_(metrics), native_(native) {}

  // std::nullopt for requests that are not the manager's (NativeApi's next).
  std::optional<HttpResponse> handle(const HttpRequest& request);

  // What POST /v1/infer may send (ServerLimits::body_limit); 0 for other routes.
  static std::size_t body_limit(const HttpRequest& request);

 private:
  HttpResponse load(const std::string& id);
  HttpResponse unload(const std::string& id);
  HttpResponse infer(const std::string& id, const HttpRequest& request);
  HttpResponse list(const HttpRequest& request);
  std::optional<HttpResponse> remove(const std::string& ref_text, const HttpRequest& request);
  // The answer to an acquire() that failed.
  HttpResponse acquire_error(const std::string& id, const Error& error);

  manager::ModelManager& models_;
  ModelMetrics& metrics_;
  NativeApi& native_;
};

}  // namespace modelcache::server
