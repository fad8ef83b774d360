#include "server/health_routes.hpp"

namespace modelcache::server {

std::optional<HttpResponse> health_route(const HttpRequest& request, Readiness readiness) {
  if (request.path != "/healthz" && request.path != "/readyz") return std::nullopt;
  if (!request.is_read()) return error_response(405, "", "method not allowed");
  if (request.path == "/healthz") return json_response(200, std::string(R"({"status":"ok"})"));
  if (readiness == Readiness::kDraining) return error_response(503, "", "shutting down");
  return json_response(200, std::string(R"({"status":"ready"})"));
}

}  // namespace modelcache::server
