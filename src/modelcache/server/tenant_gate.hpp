// What `--api-keys` puts in front of every route: a request without a known key
// gets 401 (except GET /healthz, which stays open for probes); a known one is
// routed with its Tenant set and its Authorization replaced by the tenant's
// upstream Hub token (or removed), so the api key never travels upstream and
// the mirror's routes keep reading "the client's token" from the same header.
#pragma once

#include <functional>

#include "server/http_message.hpp"
#include "server/tenants.hpp"

namespace modelcache::server {

class TenantGate {
 public:
  using Next = std::function<HttpResponse(const HttpRequest&)>;

  // `tenants` null (no --api-keys): every request passes unchanged.
  explicit TenantGate(const Tenants* tenants) : tenants_(tenants) {}

  HttpResponse route(const HttpRequest& request, const Next& next) const;

 private:
  const Tenants* tenants_;
};

}  // namespace modelcache::server
