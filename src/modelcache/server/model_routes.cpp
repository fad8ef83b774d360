#include "server/model_routes.hpp"

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/model_ref.hpp"
#include "server/infer_request.hpp"
#include "server/tenants.hpp"
#include "util/strings.hpp"

namespace modelcache::server {

namespace {

using manager::ModelInfo;
using manager::ModelState;

nlohmann::json to_json(const ModelInfo& m) {
  nlohmann::json out{{"model", m.id},          {"state", manager::to_string(m.state)},
                     {"format", m.format},     {"task", m.task},
                     {"bytes", m.bytes},       {"pinned", m.pinned},
                     {"last_use", m.last_use}, {"load_seconds", m.load_seconds},
                     {"in_use", m.in_use}};
  if (!m.snapshot.empty()) out["snapshot"] = m.snapshot.string();
  out["error"] = m.state == ModelState::kFailed ? nlohmann::json(m.error) : nlohmann::json(nullptr);
  return out;
}

// The model id of a path segment, or the 400 that says why it is not one, or the
// 403 when the request's tenant may not use it (server/tenants.hpp).
std::optional<HttpResponse> check_id(const std::string& id, const HttpRequest& request) {
  // A bare path would be read relative to the daemon's working directory.
  if (id.find("://") == std::string::npos) {
    return error_response(
        400, "",
        fmt::format("model id '{}' has no scheme: use hf://org/name, file:///abs/dir, "
                    "s3://bucket/prefix, ... percent-encoded as one path segment",
                    util::printable(id)));
  }
  auto ref = core::parse_ref(id);
  if (!ref) {
    return error_response(
        400, "",
        fmt::format("model id: {} (percent-encode the model reference as one path "
                    "segment, e.g. /v1/models/hf%3A%2F%2Forg%2Fname/load)",
                    ref.error().message));
  }
  if (!may_use(request, ref->id())) return forbidden_response(ref->id());
  return std::nullopt;
}

// The repository a reference names, without its revision: what DELETE removes.
std::optional<std::string> repo_of(std::string_view ref_text) {
  auto ref = core::parse_ref(ref_text);
  if (!ref) return std::nullopt;
  return ref->id();
}

}  // namespace

std::size_t ModelApi::body_limit(const HttpRequest& request) {
  return request.method == "POST" && request.path.starts_with("/v1/infer/") ? kMaxInferBodyBytes
                                                                            : 0;
}

std::optional<HttpResponse> ModelApi::handle(const HttpRequest& request) {
  std::string_view path = request.path;
  if (path.starts_with("/v1/infer/")) {
    std::string_view segment = path.substr(10);
    if (segment.empty() || segment.find('/') != std::string_view::npos) {
      return error_response(
          404, "",
          "POST /v1/infer/{model}: percent-encode the model reference as one path segment");
    }
    if (request.method != "POST") return error_response(405, "", "/v1/infer/{model} takes POST");
    std::string id = util::url_decode(segment);
    if (auto bad = check_id(id, request)) return bad;
    return infer(id, request);
  }
  if (path == "/v1/models") {
    if (!request.is_read()) return std::nullopt;  // NativeApi's 405
    return list(request);
  }
  if (!path.starts_with("/v1/models/")) return std::nullopt;
  std::string_view rest = path.substr(11);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) {
    std::string id = util::url_decode(rest);
    if (request.method == "DELETE") return remove(id, request);
    if (!request.is_read()) return std::nullopt;
    if (auto bad = check_id(id, request)) return bad;
    auto info = models_.info(id);
    if (!info) {
      return error_response(
          404, "", fmt::format("{} is not loaded (POST /v1/models/{{id}}/load loads it)", id));
    }
    return json_response(200, to_json(*info));
  }
  std::string_view action = rest.substr(slash + 1);
  if (action != "load" && action != "unload") {
    // A slash inside the id: either not percent-encoded, or NativeApi's DELETE of a raw ref.
    if (request.method == "DELETE") return remove(util::url_decode(rest), request);
    return error_response(404, "",
                          "unknown route; percent-encode the model reference as one path segment "
                          "(/v1/models/{id}/load, /v1/models/{id}/unload)");
  }
  if (request.method != "POST") {
    return error_response(405, "", fmt::format("/v1/models/{{id}}/{} takes POST", action));
  }
  std::string id = util::url_decode(rest.substr(0, slash));
  if (auto bad = check_id(id, request)) return bad;
  return action == "load" ? load(id) : unload(id);
}

HttpResponse ModelApi::acquire_error(const std::string& id, const Error& error) {
  if (auto info = models_.info(id); info && info->state == ModelState::kFailed) {
    return json_response(
        422, nlohmann::json{{"error", info->error}, {"state", "FAILED"}, {"model", id}});
  }
  int status = error.code == ErrorCode::kNoSpace || error.code == ErrorCode::kTimeout ? 503 : 500;
  return error_response(status, "", error.message);
}

HttpResponse ModelApi::load(const std::string& id) {
  auto handle = models_.acquire(id, manager::OnFailed::kRetry);
  if (!handle) return acquire_error(id, handle.error());
  auto info = models_.info(id);
  if (!info) {
    return error_response(500, "", "the model was unloaded while its load answered; retry");
  }
  auto out = to_json(*info);
  out["in_use"] = info->in_use - 1;  // not counting this answer's own hold
  return json_response(200, out);
}

HttpResponse ModelApi::unload(const std::string& id) {
  if (auto s = models_.unload(id); !s) {
    return error_response(s.error().code == ErrorCode::kNotFound ? 404 : 500, "",
                          s.error().message);
  }
  return json_response(200, nlohmann::json{{"model", id}, {"state", "UNLOADED"}});
}

HttpResponse ModelApi::infer(const std::string& id, const HttpRequest& request) {
  auto input = parse_infer_request(request);
  if (!input) return error_response(400, "", input.error().message);
  auto handle = models_.acquire(id, manager::OnFailed::kReport);
  if (!handle) return acquire_error(id, handle.error());
  auto start = std::chrono::steady_clock::now();
  auto result = handle->model().infer(*input);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.record_inference(id, result.has_value(), seconds);
  if (!result) {
    int status = result.error().code == ErrorCode::kInvalidArgument ? 400 : 500;
    return json_response(status, nlohmann::json{{"error", result.error().message}, {"model", id}});
  }
  nlohmann::json out = std::move(*result);
  if (!out.is_object()) out = nlohmann::json{{"predictions", std::move(out)}};
  out["model"] = id;
  out["time"] = seconds;
  return json_response(200, out);
}

HttpResponse ModelApi::list(const HttpRequest& request) {
  auto loaded = models_.list();
  if (request.query_param("loaded").value_or("") == "1") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : loaded) {
      if (may_use(request, repo_of(m.id).value_or(m.id))) out.push_back(to_json(m));
    }
    return json_response(200, out);
  }
  // NativeApi's list, each snapshot with the manager's entries on it.
  auto snapshots = native_.snapshot_list(request);
  if (!snapshots) return error_response(500, "", snapshots.error().message);
  for (auto& s : *snapshots) {
    nlohmann::json on = nlohmann::json::array();
    for (const auto& m : loaded) {
      if (!m.snapshot.empty() && s.value("path", "") == m.snapshot.string()) {
        on.push_back(to_json(m));
      }
    }
    s["loaded"] = std::move(on);
  }
  return json_response(200, *snapshots);
}

std::optional<HttpResponse> ModelApi::remove(const std::string& ref_text,
                                             const HttpRequest& request) {
  auto repo = repo_of(ref_text);
  // NativeApi says what is wrong with it, or that the tenant may not use it.
  if (!repo || !may_use(request, *repo)) return std::nullopt;
  std::vector<std::string> in_use;
  for (const auto& m : models_.list()) {
    if (m.state != ModelState::kFailed && repo_of(m.id) == repo) in_use.push_back(m.id);
  }
  if (in_use.empty()) return std::nullopt;
  if (request.query_param("force").value_or("") != "1") {
    return json_response(
        409, nlohmann::json{{"error", fmt::format("{} is loaded by the model manager; unload it "
                                                  "first (POST /v1/models/{{id}}/unload) "
                                                  "or DELETE with ?force=1",
                                                  in_use.front())},
                            {"loaded", in_use}});
  }
  for (const auto& id : in_use) (void)models_.unload(id);
  return std::nullopt;  // NativeApi removes the files
}

}  // namespace modelcache::server
