#include "server/infer_request.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "util/base64.hpp"
#include "util/strings.hpp"

namespace modelcache::server {

namespace {

using manager::InferInput;

Status bad(std::string message) { return fail(ErrorCode::kInvalidArgument, std::move(message)); }

// A threshold in [0, 1] or a positive count, from JSON or from text.
Status set_field(InferInput& input, std::string_view name, const nlohmann::json& value) {
  auto number = [&]() -> std::optional<double> {
    if (value.is_number()) return value.get<double>();
    if (value.is_string()) {
      std::string text = value.get<std::string>();
      char* end = nullptr;
      double d = std::strtod(text.c_str(), &end);
      if (!text.empty() && end == text.c_str() + text.size()) return d;
    }
    return std::nullopt;
  }();
  if (name == "top_k") {
    if (!number || *number < 1 || *number > 1000 || std::floor(*number) != *number) {
      return bad("\"top_k\" must be an integer from 1 to 1000");
    }
    input.top_k = static_cast<int>(*number);
    return {};
  }
  if (!number || !(*number >= 0 && *number <= 1)) {
    return bad(fmt::format("\"{}\" must be a number from 0 to 1", name));
  }
  (name == "confidence" ? input.confidence : input.iou) = *number;
  return {};
}

constexpr std::string_view kFields[] = {"confidence", "iou", "top_k"};

Status set_image_base64(InferInput& input, std::string_view text) {
  if (text.starts_with("data:")) {  // data:image/png;base64,....
    auto comma = text.find(',');
    if (comma == std::string_view::npos ||
        text.substr(0, comma).find(";base64") == std::string_view::npos) {
      return bad("\"image\" is a data: URL without ;base64, data");
    }
    text.remove_prefix(comma + 1);
  }
  std::string compact;
  compact.reserve(text.size());
  for (char c : text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') compact += c;
  }
  auto decoded = util::base64_decode(compact);
  if (!decoded) return bad("\"image\" is not valid base64 (standard alphabet, padded)");
  input.image = std::move(*decoded);
  return {};
}

Status parse_json(const HttpRequest& request, InferInput& input) {
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(request.body);
  } catch (const nlohmann::json::exception&) {
    return bad(
        "request body is not JSON; send {\"image\": \"<base64>\"} or multipart/form-data with an "
        "image part");
  }
  if (!body.is_object()) {
    return bad("request body must be a JSON object with \"image\": \"<base64>\"");
  }
  auto image = body.find("image");
  if (image == body.end() || !image->is_string()) {
    return bad("\"image\" (a base64 string) is missing");
  }
  if (auto s = set_image_base64(input, image->get_ref<const std::string&>()); !s) return s;
  for (auto name : kFields) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) continue;
    if (auto s = set_field(input, name, *it); !s) return s;
  }
  return {};
}

// The value of `key` in "type/sub; key=value; ..." (quotes removed).
std::optional<std::string> header_param(std::string_view header, std::string_view key) {
  auto parts = util::split(header, ';');
  for (std::size_t i = 1; i < parts.size(); ++i) {
    std::string_view p = util::trim(parts[i]);
    auto eq = p.find('=');
    if (eq == std::string_view::npos || !util::iequals(util::trim(p.substr(0, eq)), key)) continue;
    std::string_view v = util::trim(p.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return std::nullopt;
}

Status parse_multipart(const HttpRequest& request, std::string_view content_type,
                       InferInput& input) {
  auto boundary = header_param(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) {
    return bad("multipart/form-data without a valid boundary parameter");
  }
  const std::string delim = "--" + *boundary;
  std::string_view body = request.body;
  auto malformed = [](std::string_view why) {
    return bad(fmt::format("malformed multipart body: {}", why));
  };
  if (!body.starts_with(delim)) return malformed("it does not start with the boundary");
  std::size_t pos = delim.size();
  bool have_image = false;
  while (true) {
    if (body.substr(pos, 2) == "--") break;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") return malformed("no CRLF after a boundary");
    pos += 2;
    auto head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) return malformed("a part has no header end");
    std::string_view head = body.substr(pos, head_end - pos);
    std::size_t content = head_end + 4;
    auto next = body.find("\r\n" + delim, content);
    if (next == std::string_view::npos) return malformed("a part is not closed by the boundary");
    std::string_view value = body.substr(content, next - content);
    pos = next + 2 + delim.size();
    std::optional<std::string> name;
    for (const auto& line : util::split(head, '\n')) {
      std::string_view l = util::trim(line);
      auto colon = l.find(':');
      if (colon != std::string_view::npos &&
          util::iequals(util::trim(l.substr(0, colon)), "content-disposition")) {
        name = header_param(l.substr(colon + 1), "name");
      }
    }
    if (!name) return malformed("a part has no Content-Disposition name");
    if (*name == "image") {
      input.image = std::string(value);
      have_image = true;
    } else if (std::find(std::begin(kFields), std::end(kFields), *name) != std::end(kFields)) {
      if (auto s = set_field(input, *name, nlohmann::json(std::string(util::trim(value)))); !s) {
        return s;
      }
    }
  }
  if (!have_image) return bad("multipart body has no \"image\" part");
  return {};
}

}  // namespace

Result<InferInput> parse_infer_request(const HttpRequest& request) {
  InferInput input;
  for (auto name : kFields) {
    if (auto v = request.query_param(name)) {
      if (auto s = set_field(input, name, nlohmann::json(*v)); !s) {
        return std::unexpected(s.error());
      }
    }
  }
  std::string_view type = request.header("content-type").value_or("");
  std::string_view mime = util::trim(type.substr(0, type.find(';')));
  Status parsed;
  if (util::iequals(mime, "application/json")) {
    parsed = parse_json(request, input);
  } else if (util::iequals(mime, "multipart/form-data")) {
    parsed = parse_multipart(request, type, input);
  } else {
    return fail(ErrorCode::kInvalidArgument,
                "send the image as application/json {\"image\": \"<base64>\"} or as "
                "multipart/form-data with an "
                "\"image\" part");
  }
  if (!parsed) return std::unexpected(parsed.error());
  if (input.image.empty()) return fail(ErrorCode::kInvalidArgument, "the image is empty");
  return input;
}

}  // namespace modelcache::server
