#include "server/native_routes.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "cache/remove_ref.hpp"
#include "server/tenants.hpp"
#include "util/strings.hpp"

namespace modelcache::server {

namespace {

const char* state_name(JobState s) {
  switch (s) {
    case JobState::kRunning: return "running";
    case JobState::kDone: return "done";
    case JobState::kFailed: return "failed";
  }
  return "failed";
}

// A JSON array of strings at `key` (absent is empty).
Result<std::vector<std::string>> string_list(const nlohmann::json& body, const char* key) {
  std::vector<std::string> out;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array()) return fail(ErrorCode::kInvalidArgument, fmt::format("\"{}\" must be an array of globs", key));
  for (const auto& v : *it) {
    if (!v.is_string()) return fail(ErrorCode::kInvalidArgument, fmt::format("\"{}\" must be an array of globs", key));
    out.push_back(v.get<std::string>());
  }
  return out;
}

int status_of(const Error& e) {
  switch (e.code) {
    case ErrorCode::kNotCached:
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kInvalidRef:
    case ErrorCode::kInvalidArgument: return 400;
    default: return 500;
  }
}

}  // namespace

std::optional<HttpResponse> NativeApi::handle(const HttpRequest& request) {
  std::string_view path = request.path;
  if (!path.starts_with("/v1/")) return std::nullopt;
  if (path == "/v1/pull") {
    if (request.method != "POST") return error_response(405, "", "/v1/pull takes POST");
    return start_pull(request);
  }
  if (path.starts_with("/v1/jobs/") && path.size() > 9) {
    if (!request.is_read()) return error_response(405, "", "/v1/jobs takes GET");
    return job(request, util::url_decode(path.substr(9)));
  }
  if (path == "/v1/models") {
    if (!request.is_read()) return error_response(405, "", "/v1/models takes GET");
    return models(request);
  }
  if (path.starts_with("/v1/models/") && path.size() > 11) {
    if (request.method != "DELETE") return error_response(405, "", "/v1/models/{ref} takes DELETE");
    std::string ref_text = util::url_decode(path.substr(11));
    if (request.tenant != nullptr) {
      auto ref = core::parse_ref(ref_text);
      if (!ref || !may_use(request, ref->id())) return forbidden_response(ref ? ref->id() : ref_text);
    }
    return remove(ref_text);
  }
  return error_response(404, "", "Not Found");
}

HttpResponse NativeApi::start_pull(const HttpRequest& request) {
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(request.body);
  } catch (const nlohmann::json::exception& e) {
    return error_response(400, "", fmt::format("request body is not JSON: {}", e.what()));
  }
  if (!body.is_object() || !body.contains("ref") || !body["ref"].is_string()) {
    return error_response(400, "", "request body must be a JSON object with \"ref\": \"hf://ORG/NAME[@REV]\" (or s3://, https://, ...)");
  }
  std::string ref_text = body["ref"].get<std::string>();
  auto ref = core::parse_ref(ref_text);
  if (!ref) return error_response(400, "", ref.error().message);
  if (!may_use(request, ref->id())) return forbidden_response(ref->id());
  PullOptions options;
  auto allow = string_list(body, "allow");
  if (!allow) return error_response(400, "", allow.error().message);
  auto ignore = string_list(body, "ignore");
  if (!ignore) return error_response(400, "", ignore.error().message);
  options.allow = std::move(*allow);
  options.ignore = std::move(*ignore);
  options.token = request.bearer_token();  // the daemon has no token of its own
  auto id = jobs_.start(std::move(ref_text), std::move(*ref), std::move(options));
  if (!id) return error_response(503, "", id.error().message);
  return json_response(202, nlohmann::json{{"job", *id}});
}

HttpResponse NativeApi::job(const HttpRequest& request, const std::string& id) {
  auto job = jobs_.find(id);
  if (!job || !may_use(request, job->model)) return error_response(404, "", fmt::format("no job {} (jobs are kept in memory, the last {})", id,
                                                       PullJobs::kMaxJobs));
  JobState state = job->state.load(std::memory_order_acquire);
  nlohmann::json out{{"job", job->id},
                     {"state", state_name(state)},
                     {"bytes_done", job->bytes_done.load(std::memory_order_relaxed)},
                     {"bytes_total", job->bytes_total.load(std::memory_order_relaxed)},
                     {"files_done", job->files_done.load(std::memory_order_relaxed)},
                     {"files_total", job->files_total.load(std::memory_order_relaxed)}};
  if (state == JobState::kDone) out["snapshot"] = job->snapshot;
  if (state == JobState::kFailed) out["error"] = job->error;
  return json_response(200, out);
}

HttpResponse NativeApi::models(const HttpRequest& request) {
  auto out = snapshot_list(request);
  if (!out) return error_response(500, "", out.error().message);
  return json_response(200, *out);
}

Result<nlohmann::json> NativeApi::snapshot_list(const HttpRequest& request) {
  auto snaps = pulls_.cache().list();
  if (!snaps) return std::unexpected(snaps.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : *snaps) {
    if (!may_use(request, s.model)) continue;
    out.push_back({{"model", s.model}, {"snapshot", s.snapshot_id}, {"revisions", s.revisions},
                   {"path", s.path.string()}, {"bytes", s.bytes}, {"files", s.files},
                   {"last_used", s.last_used}});
  }
  return out;
}

HttpResponse NativeApi::remove(const std::string& ref_text) {
  auto report = remove_ref(pulls_.store(), ref_text);
  if (!report) return error_response(status_of(report.error()), "", report.error().message);
  nlohmann::json out{{"removed", report->removed},
                     {"skipped", report->skipped},
                     {"blobs_removed", report->blobs_removed},
                     {"bytes_freed", report->bytes_freed}};
  if (!report->skipped.empty()) {
    out["error"] = fmt::format("{} is in use (a process holds its lease) and was kept; retry when it is released",
                               report->skipped.front());
    return json_response(409, out);
  }
  return json_response(200, out);
}

}  // namespace modelcache::server
