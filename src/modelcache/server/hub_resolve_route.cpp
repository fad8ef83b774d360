// GET|HEAD /[datasets/]{repo}/resolve/{rev}/{path}: the file's bytes, from its
// verified blob (the snapshot link's target), whole or one range; the Hub's
// headers so that clients cache it under the same names.
#include <fcntl.h>

#include <cerrno>

#include <fmt/format.h>

#include "server/hub_entries.hpp"
#include "server/hub_mirror.hpp"
#include "server/stream_body.hpp"

namespace modelcache::server {

HttpResponse HubMirror::resolve(const HttpRequest& request, const core::ModelRef& repo, std::string_view revision,
                                std::string_view path) {
  // A HEAD must not wait for a cold pull (huggingface_hub gives it 10 s): the
  // upstream's metadata answers it, with the client's own credentials.
  std::shared_ptr<Flight> flight;
  if (!pulls_.in_store(repo, revision)) {
    if (request.method == "HEAD") return upstream_.head_file(repo, revision, path, request.bearer_token());
    if (auto streamed = stream_cold(request, repo, revision, path, flight)) return std::move(*streamed);
  }
  auto snap = flight ? pulls_.finish_get(repo, flight, request.bearer_token())
                     : pulls_.get(repo, revision, request.bearer_token());
  if (!snap) return pull_error_response(snap.error());
  const std::string& commit = snap->snapshot.snapshot_id;
  const auto* entry = snap->manifest.find(path);
  if (entry == nullptr) {
    HttpResponse r = error_response(404, "EntryNotFound", "Entry not found");
    r.set_header("X-Repo-Commit", commit);
    return r;
  }
  if (entry->sha256.empty()) return pull_error_response(Error{ErrorCode::kNotCached, ""});
  HubFileInfo info = hub_file_info(*entry);
  // The Hub: ETag is the git blob id of a regular file; an LFS file's bytes come
  // from its CDN with the sha256 as ETag, and X-Linked-* say the same up front.
  std::string etag = fmt::format("\"{}\"", info.lfs ? info.sha256 : info.oid);

  HttpResponse r;
  r.set_header("X-Repo-Commit", commit);
  r.set_header("ETag", etag);
  if (info.lfs) {
    r.set_header("X-Linked-Etag", etag);
    r.set_header("X-Linked-Size", std::to_string(info.size));
  }
  r.set_header("Accept-Ranges", "bytes");
  r.set_header("Content-Type", "application/octet-stream");

  RangeAnswer range;
  if (auto header = request.header("range")) {
    range = parse_range(*header, entry->size);
    auto if_range = request.header("if-range");
    if (range.kind == RangeKind::kPartial && if_range && *if_range != etag) range = {};
  }
  if (range.kind == RangeKind::kUnsatisfiable) {
    r.status = 416;
    r.set_header("Content-Range", fmt::format("bytes */{}", entry->size));
    return r;
  }
  std::uint64_t first = 0;
  std::uint64_t length = entry->size;
  if (range.kind == RangeKind::kPartial) {
    r.status = 206;
    first = range.first;
    length = range.last - range.first + 1;
    r.set_header("Content-Range", fmt::format("bytes {}-{}/{}", range.first, range.last, entry->size));
  }
  auto blob = pulls_.store().layout().blob(entry->sha256);
  // The open descriptor keeps the bytes readable even if gc removes the blob
  // after the lease is dropped, while the body is still being sent.
  auto fd = std::make_shared<util::UniqueFd>(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
  if (!*fd) {
    return error_response(500, "", fmt::format("cannot open the cached file for {}: {}; run `modelcache verify`",
                                               path, std::strerror(errno)));
  }
  r.file = FileBody{std::move(fd), first, length};
  return r;
}

std::optional<HttpResponse> HubMirror::stream_cold(const HttpRequest& request, const core::ModelRef& repo,
                                                   std::string_view revision, std::string_view path,
                                                   std::shared_ptr<Flight>& flight) {
  // A range waits for the whole file (then it is answered from the blob): the
  // clients we serve ask for ranges only to resume.
  if (request.header("range")) return std::nullopt;
  // The upstream's metadata gives the head (what a HEAD answers); on any error
  // the waiting path below answers, with the pull's own clear error.
  HttpResponse head = upstream_.head_file(repo, revision, path, request.bearer_token());
  if (head.status != 200 || !head.head_length || *head.head_length == 0) return std::nullopt;
  const std::uint64_t size = *head.head_length;
  std::string file(path);
  flight = pulls_.start(repo, revision, request.bearer_token(), file);
  // Wait for the file's first bytes. The pull listed the upstream with this
  // client's credentials (a flight is never shared across tokens) before it
  // reports any file, so the upstream has accepted this client.
  std::optional<FlightFile> seen;
  while (true) {
    bool ended = false;
    seen = flight->wait_file(file, seen, std::chrono::seconds(1), ended);
    if (ended || (seen && (seen->state == FileState::kFailed || (seen->size != 0 && seen->size != size)))) {
      return std::nullopt;  // answered from the pull's result
    }
    if (seen && (seen->state == FileState::kCommitted || seen->ready > 0)) break;
  }
  pulls_.count_streamed();
  head.head_length.reset();
  head.stream = StreamBody{size, [flight, file, size](int socket) {
                             return stream_flight_file(socket, *flight, file, size);
                           }};
  return head;
}

}  // namespace modelcache::server
