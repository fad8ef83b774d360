#include "server/http_message.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "util/strings.hpp"

namespace modelcache::server {

namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}


}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

bool HttpRequest::keep_alive() const {
  auto connection = header("connection");
  std::string value = connection ? util::to_lower(*connection) : "";
  if (minor_version == 0) return value.find("keep-alive") != std::string::npos;
  return value.find("close") == std::string::npos;
}

std::optional<std::string> HttpRequest::bearer_token() const {
  auto value = header("authorization");
  if (!value || value->size() <= 7 || !util::iequals(value->substr(0, 7), "bearer ")) return std::nullopt;
  std::string_view token = util::trim(value->substr(7));
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
  for (const auto& pair : util::split(query, '&')) {
    auto eq = pair.find('=');
    std::string_view key = std::string_view(pair).substr(0, eq);
    if (util::url_decode(key) == name) {
      return eq == std::string::npos ? std::string() : util::url_decode(std::string_view(pair).substr(eq + 1));
    }
  }
  return std::nullopt;
}

Result<HttpRequest> parse_request_head(std::string_view head) {
  HttpRequest req;
  auto line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "malformed request line");
  req.method = std::string(line.substr(0, sp1));
  req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string_view version = line.substr(sp2 + 1);
  if (req.method.empty() || !std::all_of(req.method.begin(), req.method.end(), is_token_char)) {
    return fail(ErrorCode::kInvalidArgument, "malformed request method");
  }
  if (version == "HTTP/1.1") {
    req.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    req.minor_version = 0;
  } else {
    return fail(ErrorCode::kInvalidArgument, "unsupported HTTP version (HTTP/1.0 and HTTP/1.1 are served)");
  }
  if (req.target.empty() || req.target[0] != '/') {
    return fail(ErrorCode::kInvalidArgument, "request target must be an absolute path");
  }
  for (char c : req.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return fail(ErrorCode::kInvalidArgument, "request target contains a control character");
    }
  }
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);

  std::string_view rest = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  while (!rest.empty()) {
    auto end = rest.find("\r\n");
    std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    auto colon = field.find(':');
    if (colon == 0 || colon == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument, "malformed header field");
    }
    std::string_view name = field.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) {
      return fail(ErrorCode::kInvalidArgument, "malformed header field name");
    }
    std::string_view value = util::trim(field.substr(colon + 1));
    for (char c : value) {
      if (c == '\0' || c == '\r' || c == '\n') return fail(ErrorCode::kInvalidArgument, "control character in a header value");
    }
    req.headers.emplace_back(util::to_lower(name), std::string(value));
  }
  return req;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
  }
}

std::string serialize_head(const HttpResponse& response, bool keep_alive) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", response.status, reason_phrase(response.status));
  for (const auto& [name, value] : response.headers) out += fmt::format("{}: {}\r\n", name, value);
  out += fmt::format("Content-Length: {}\r\n", response.content_length());
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  return out;
}

HttpResponse json_response(int status, std::string json_text) {
  HttpResponse r;
  r.status = status;
  r.set_header("Content-Type", "application/json; charset=utf-8");
  r.body = std::move(json_text);
  return r;
}

HttpResponse json_response(int status, const nlohmann::json& body) {
  return json_response(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  HttpResponse r = json_response(status, nlohmann::json{{"error", message}});
  if (!code.empty()) r.set_header("X-Error-Code", std::string(code));
  // A header value must stay one line of visible characters.
  std::string header_text;
  for (char c : message) header_text += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  r.set_header("X-Error-Message", header_text);
  return r;
}

RangeAnswer parse_range(std::string_view header, std::uint64_t size) {
  std::string_view spec = util::trim(header);
  if (!spec.starts_with("bytes=")) return {};
  spec = util::trim(spec.substr(6));
  if (spec.find(',') != std::string_view::npos) return {};
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  std::string_view first_text = util::trim(spec.substr(0, dash));
  std::string_view last_text = util::trim(spec.substr(dash + 1));
  if (first_text.empty() && last_text.empty()) return {};
  if (first_text.empty()) {  // suffix: the last N bytes
    auto n = util::parse_u64(last_text);
    if (!n) return {};
    if (*n == 0 || size == 0) return {RangeKind::kUnsatisfiable};
    return {RangeKind::kPartial, size - std::min(*n, size), size - 1};
  }
  auto first = util::parse_u64(first_text);
  if (!first) return {};
  std::optional<std::uint64_t> last;
  if (!last_text.empty()) {
    last = util::parse_u64(last_text);
    if (!last) return {};
  }
  if (*first >= size || (last && *last < *first)) return {RangeKind::kUnsatisfiable};
  return {RangeKind::kPartial, *first, last ? std::min(*last, size - 1) : size - 1};
}

}  // namespace modelcache::server
