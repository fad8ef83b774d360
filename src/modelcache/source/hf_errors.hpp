// The Hub's error vocabulary (X-Error-Code, X-Error-Message) mapped to ErrorCode
// and to one line that tells the user what to do. Never contains the token.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/model_ref.hpp"
#include "modelcache/error.hpp"
#include "net/http_client.hpp"

namespace modelcache::source {

struct HubErrorContext {
  const core::ModelRef& ref;
  std::string_view endpoint;
  const std::optional<std::string>& token;  // only to know whether one was sent, and to scrub
  std::string_view entry;                   // the file asked for, when there is one
};

// `response` is a non-2xx answer of the Hub API or of a resolve URL.
Error hub_error(const net::HttpResponse& response, const HubErrorContext& context);

}  // namespace modelcache::source
