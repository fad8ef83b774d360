#include "source/hf_errors.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "source/origin_errors.hpp"
#include "util/strings.hpp"

namespace modelcache::source {

namespace {

// What the Hub says when a token is sent but not recognised (with RepoNotFound);
// huggingface_hub keys on the same text.
constexpr std::string_view kInvalidCredentials = "Invalid credentials in Authorization header";

std::string server_message(const net::HttpResponse& response) {
  if (auto header = response.header("x-error-message")) return std::string(util::trim(*header));
  auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    auto it = doc.find("error");
    if (it != doc.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

std::string repo_label(const core::ModelRef& ref) {
  return ref.repo_type == core::RepoType::kDataset ? "dataset " + ref.repo
                                                   : "repository " + ref.repo;
}

Error classify(const net::HttpResponse& response, std::string_view code,
               std::string_view server_text, const HubErrorContext& c) {
  std::string label = repo_label(c.ref);
  bool sent = c.token.has_value();
  if (code == "GatedRepo") {
    return {ErrorCode::kGated,
            fmt::format("{} on {} is gated: request access on its page, then pass a token that "
                        "has it (--token or HF_TOKEN){}",
                        label, c.endpoint, sent ? "; the token sent has no access yet" : "")};
  }
  if ((code == "RepoNotFound" || code.empty()) && response.status == 401 &&
      (server_text == kInvalidCredentials || (code.empty() && sent))) {
    return {ErrorCode::kUnauthorized,
            fmt::format("{} rejected the token for {} (HTTP 401): it is invalid or expired; "
                        "check --token / HF_TOKEN",
                        c.endpoint, label)};
  }
  if (code == "RepoNotFound" || (code.empty() && response.status == 404 && c.entry.empty())) {
    return {
        ErrorCode::kNotFound,
        fmt::format("{} not found on {} (check the name; for a private repo {})", label, c.endpoint,
                    sent ? "make sure the token can read it" : "pass --token or set HF_TOKEN")};
  }
  if (code == "RevisionNotFound") {
    return {ErrorCode::kRevisionNotFound,
            fmt::format("revision '{}' not found in {} on {} (check the branch, tag or commit)",
                        printable(c.ref.revision), label, c.endpoint)};
  }
  if (code == "EntryNotFound" || (code.empty() && response.status == 404)) {
    return {ErrorCode::kEntryNotFound,
            fmt::format("file '{}' not found in {} at revision '{}'", printable(c.entry), label,
                        printable(c.ref.revision))};
  }
  if (code == "DisabledRepo") {
    return {ErrorCode::kForbidden, fmt::format("{} has been disabled on {}", label, c.endpoint)};
  }
  if (response.status == 401) {
    return {ErrorCode::kUnauthorized,
            fmt::format("{} requires a token for {} (HTTP 401): the token is missing; pass "
                        "--token or set HF_TOKEN",
                        c.endpoint, label)};
  }
  if (response.status == 403) {
    return {ErrorCode::kForbidden,
            fmt::format("access to {} on {} denied (HTTP 403): {}", label, c.endpoint,
                        sent ? "the token lacks permission for it"
                             : "it needs a token; pass --token or set HF_TOKEN")};
  }
  return status_error(response.status, fmt::format("{} on {}", label, c.endpoint),
                      sent ? TokenSent::kYes : TokenSent::kNo);
}

}  // namespace

Error hub_error(const net::HttpResponse& response, const HubErrorContext& context) {
  std::string code(util::trim(response.header("x-error-code").value_or("")));
  std::string server_text = server_message(response);
  Error error = classify(response, code, server_text, context);
  if (!server_text.empty() && server_text != kInvalidCredentials) {
    error.message += " [server: " + printable(server_text) + "]";
  }
  error.message = scrub(std::move(error.message), context.token);
  return error;
}

}  // namespace modelcache::source
