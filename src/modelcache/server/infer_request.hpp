// The body of POST /v1/infer/{model} as an InferInput (doc/INFERENCE.md):
//   application/json     {"image": "<base64, or a data: URL>", "confidence", "iou", "top_k"}
//   multipart/form-data  an "image" file part, and the same fields as text parts
// The optional fields may also come as query parameters (the body wins). Pure
// parsing: every error is kInvalidArgument with one line the client can act on.
#pragma once

#include "manager/loaded_model.hpp"
#include "server/http_message.hpp"

namespace modelcache::server {

// The largest request body POST /v1/infer takes (other routes: ServerLimits).
inline constexpr std::size_t kMaxInferBodyBytes = 16 << 20;

Result<manager::InferInput> parse_infer_request(const HttpRequest& request);

}  // namespace modelcache::server
