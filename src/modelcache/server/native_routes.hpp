// The daemon's own API under /v1 (JSON in and out, errors as {"error": "one line"}):
//   POST   /v1/pull           {"ref", "allow", "ignore"} -> 202 {"job"}; runs in the background
//   GET    /v1/jobs/{id}      state, progress, snapshot path or error
//   GET    /v1/models         cached snapshots (what `modelcache ls --json` prints)
//   DELETE /v1/models/{ref}   what `modelcache rm REF[@REV]` does; 409 while leased
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

 private:
  HttpResponse start_pull(const HttpRequest& request);
  HttpResponse job(const std::string& id);
  HttpResponse models();
  HttpResponse remove(const std::string& ref_text);

  PullThrough& pulls_;
  PullJobs& jobs_;
};

}  // namespace modelcache::server
