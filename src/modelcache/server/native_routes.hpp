// The daemon's own API under /v1 (JSON in and out, errors as {"error": "one line"}):
//   POST   /v1/pull           {"ref", "allow", "ignore"} -> 202 {"job"}; runs in the background
//   GET    /v1/jobs/{id}      state, progress, snapshot path or error
//   GET    /v1/models         cached snapshots (what `modelcache ls --json` prints)
//   DELETE /v1/models/{ref}   what `modelcache rm REF[@REV]` does; 409 while leased
// With --api-keys a tenant sees, pulls and deletes only models of its set (403),
// and sees only jobs of those (404 for the others, like an unknown id).
#pragma once

#include <optional>

#include "server/http_message.hpp"
#include "server/pull_jobs.hpp"
#include "server/pull_through.hpp"

namespace modelcache::server {

class NativeApi {
 public:
  NativeApi(PullThrough& pulls, PullJobs& jobs) : pulls_(pulls), jobs_(jobs) {}

  // std::nullopt when `request` is not under /v1/.
  std::optional<HttpResponse> handle(const HttpRequest& request);

  // What GET /v1/models answers: the cached snapshots the request's tenant may
  // see (ModelApi adds the loaded models to each).
  Result<nlohmann::json> snapshot_list(const HttpRequest& request);

 private:
  HttpResponse start_pull(const HttpRequest& request);
  HttpResponse job(const HttpRequest& request, const std::string& id);
  HttpResponse models(const HttpRequest& request);
  HttpResponse remove(const std::string& ref_text);

  PullThrough& pulls_;
  PullJobs& jobs_;
};

}  // namespace modelcache::server
