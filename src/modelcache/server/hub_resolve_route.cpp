// GET|HEAD /[datasets/]{repo}/resolve/{rev}/{path}: the file's bytes, from its
// verified blob (the snapshot link's target), whole or one range; the Hub's
// headers so that clients cache it under the same names.
#include <fcntl.h>

#include <cerrno>

#include <fmt/format.h>

#include "server/hub_entries.hpp"
#include "server/hub_mirror.hpp"

namespace modelcache::server {

HttpResponse HubMirror::resolve(const HttpRequest& request, const core::ModelRef& repo, std::string_view revision,
                                std::string_view path) {
  // A HEAD must not wait for a cold pull (huggingface_hub gives it 10 s): the
  // upstream's metadata answers it, with the client's own credentials.
  if (request.method == "HEAD" && !pulls_.in_store(repo, revision)) {
    return upstream_.head_file(repo, revision, path, request.bearer_token());
  }
  auto snap = pulls_.get(repo, revision, request.bearer_token());
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

}  // namespace modelcache::server
