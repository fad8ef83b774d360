// What every libcurl handle in modelcache gets: global init once, user agent,
// CA bundle, timeouts, protocol restrictions.
#pragma once

#include <curl/curl.h>

#include "core/config.hpp"

namespace modelcache::net {

void ensure_curl_global_init();
// http/https/file only, redirects limited to http/https, TCP keepalive, HTTP/2 over TLS
// when offered, CA bundle from settings, connect timeout.
void apply_common_options(CURL* easy, const core::TransferSettings& settings);
const char* user_agent();

}  // namespace modelcache::net
