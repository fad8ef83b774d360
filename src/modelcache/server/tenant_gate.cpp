#include "server/tenant_gate.hpp"

#include <algorithm>

namespace modelcache::server {

HttpResponse TenantGate::route(const HttpRequest& request, const Next& next) const {
  if (tenants_ == nullptr || request.path == "/healthz") return next(request);
  const Tenant* tenant = tenants_->authenticate(request);
  if (tenant == nullptr) {
    // Never echo what was sent: it may be a real key with a typo.
    HttpResponse r = error_response(401, "", request.bearer_token()
                                                 ? "unknown api key in Authorization: Bearer"
                                                 : "this daemon needs Authorization: Bearer <api key>");
    r.set_header("WWW-Authenticate", "Bearer");
    return r;
  }
  HttpRequest as_tenant = request;
  as_tenant.tenant = tenant;
  std::erase_if(as_tenant.headers, [](const auto& h) { return h.first == "authorization"; });
  if (tenant->upstream_token) as_tenant.headers.emplace_back("authorization", "Bearer " + *tenant->upstream_token);
  return next(as_tenant);
}

}  // namespace modelcache::server
