// HTTP/1.1 messages as the daemon (`modelcache serve`) sees them: a parsed
// request head, a response whose body is a string or a range of an open file
// (sent with sendfile), and the pure helpers the routes share (Range parsing,
// JSON errors in the Hub's shape). No I/O here, so unit tests cover it all.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "modelcache/error.hpp"
#include "util/fs.hpp"

namespace modelcache::server {

struct Tenant;  // server/tenants.hpp

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;    // before '?', still percent-encoded
  std::string query;   // after '?', without it
  int minor_version = 1;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  // Who sent it, set by the TenantGate before routing when --api-keys is on (else
  // null); routes ask server::may_use(request, model_id) (server/tenants.hpp).
  const Tenant* tenant = nullptr;

  // GET or HEAD: the methods every read-only route takes.
  bool is_read() const { return method == "GET" || method == "HEAD"; }
  // The first header with this (lower-case) name.
  std::optional<std::string_view> header(std::string_view lower_name) const;
  // HTTP/1.1 keeps the connection unless "Connection: close"; 1.0 only with keep-alive.
  bool keep_alive() const;
  // The credential of "Authorization: Bearer <token>"; none for other schemes.
  std::optional<std::string> bearer_token() const;
  // Value of `name` in the query string, percent-decoded.
  std::optional<std::string> query_param(std::string_view name) const;
};

// Parses everything before the blank line (request line and header fields).
Result<HttpRequest> parse_request_head(std::string_view head);

// Bytes [offset, offset + length) of an open file, sent without copying them
// through user space.
struct FileBody {
  std::shared_ptr<util::UniqueFd> fd;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// A body the route writes itself as it becomes available (a file still being
// fetched): `length` bytes to the socket; false aborts the connection mid-body,
// so the client sees fewer bytes than Content-Length, never a wrong whole body.
struct StreamBody {
  std::uint64_t length = 0;
  std::function<bool(int socket)> write;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<FileBody> file;  // when set, the body is this range and `body` is unused
  std::optional<StreamBody> stream;  // when set, the body is written by it and `body` is unused
  // A HEAD answered without the body at hand (from upstream metadata): its length.
  std::optional<std::uint64_t> head_length;

  void set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
  std::uint64_t content_length() const {
    return head_length ? *head_length : file ? file->length : stream ? stream->length : body.size();
  }
};

const char* reason_phrase(int status);
// Status line and header fields (Content-Length and Connection added), up to the blank line.
std::string serialize_head(const HttpResponse& response, bool keep_alive);

HttpResponse json_response(int status, std::string json_text);
// The body dumped compactly; invalid UTF-8 (a hostile path echoed back) is replaced,
// never an exception.
HttpResponse json_response(int status, const nlohmann::json& body);
// The Hub's error shape: X-Error-Code (when `code` is not empty), X-Error-Message
// and a {"error": message} body.
HttpResponse error_response(int status, std::string_view code, std::string_view message);

// A single "bytes=" range against a file of `size` bytes, resolved the way the
// Hub and nginx do: several ranges or another unit are ignored (whole body).
enum class RangeKind { kWhole, kPartial, kUnsatisfiable };
struct RangeAnswer {
  RangeKind kind = RangeKind::kWhole;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};
RangeAnswer parse_range(std::string_view header, std::uint64_t size);

}  // namespace modelcache::server
