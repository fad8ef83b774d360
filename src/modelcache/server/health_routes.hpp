// GET /healthz (200 while the process serves) and GET /readyz (200 once the
// store is open, 503 from the moment shutdown begins, so a load balancer drains).
#pragma once

#include <optional>

#include "server/http_message.hpp"

namespace modelcache::server {

enum class Readiness { kReady, kDraining };

std::optional<HttpResponse> health_route(const HttpRequest& request, Readiness readiness);

}  // namespace modelcache::server
