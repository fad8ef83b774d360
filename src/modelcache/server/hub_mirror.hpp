// The Hugging Face–compatible mirror at the root path: the Hub's API routes
// (repo info, tree, paths-info) and resolve, for models and datasets, answered
// from the store after a pull-through. What @huggingface/hub's snapshotDownload
// and huggingface_hub send and expect: tests/fixtures/hf_fixture.py mimics it.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "core/model_ref.hpp"
#include "server/http_message.hpp"
#include "server/pull_through.hpp"
#include "server/upstream_hub.hpp"

namespace modelcache::server {

class HubMirror {
 public:
  HubMirror(PullThrough& pulls, const UpstreamHub& upstream) : pulls_(pulls), upstream_(upstream) {}

  // std::nullopt when `request` is not a Hub route (the caller answers 404).
  std::optional<HttpResponse> handle(const HttpRequest& request);

 private:
  // hub_api_routes.cpp
  HttpResponse repo_info(const HttpRequest& request, const core::ModelRef& repo, std::string_view revision);
  HttpResponse tree(const HttpRequest& request, const core::ModelRef& repo, std::string_view revision,
                    std::string_view sub);
  HttpResponse paths_info(const HttpRequest& request, const core::ModelRef& repo, std::string_view revision);
  // hub_resolve_route.cpp
  HttpResponse resolve(const HttpRequest& request, const core::ModelRef& repo, std::string_view revision,
                       std::string_view path);
  // A GET of a file not in the store: its bytes streamed while the pull fetches
  // it (server/stream_body.hpp), or std::nullopt for the waiting path (a range, an
  // upstream error, a pull that ends first), with `flight` the pull to wait for.
  std::optional<HttpResponse> stream_cold(const HttpRequest& request, const core::ModelRef& repo,
                                          std::string_view revision, std::string_view path,
                                          std::shared_ptr<Flight>& flight);

  PullThrough& pulls_;
  const UpstreamHub& upstream_;
};

}  // namespace modelcache::server
