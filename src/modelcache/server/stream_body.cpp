#include "server/stream_body.hpp"

#include <fcntl.h>

#include <algorithm>

#include "server/http_server.hpp"
#include "util/fs.hpp"

namespace modelcache::server {

namespace {

std::shared_ptr<util::UniqueFd> open_read(const std::filesystem::path& path) {
  auto fd = std::make_shared<util::UniqueFd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return *fd ? fd : nullptr;
}

}  // namespace

std::uint64_t sendable_bytes(const FlightFile& file, std::uint64_t size) {
  // Until the file is verified its last byte stays here: a body that fails
  // verification must never reach the client whole.
  if (file.state == FileState::kCommitted) return size;
  return size == 0 ? 0 : std::min(file.ready, size - 1);
}

bool stream_flight_file(int socket, Flight& flight, const std::string& path, std::uint64_t size) {
  // The part file's descriptor stays good when it is renamed into the blob; the
  // blob is opened only when the file was committed before we looked.
  std::shared_ptr<util::UniqueFd> fd;
  std::uint64_t sent = 0;
  std::optional<FlightFile> seen;
  while (sent < size) {
    bool ended = false;
    auto file = flight.wait_file(path, seen, std::chrono::seconds(1), ended);
    seen = file;
    if (!file) {
      if (ended) return false;
      continue;
    }
    if (file->state == FileState::kFailed || (file->size != 0 && file->size != size)) return false;
    bool committed = file->state == FileState::kCommitted;
    if (ended && !committed) return false;  // cancelled, or the pull failed around it
    if (!fd && committed) fd = open_read(file->blob);
    if (!fd && file->state == FileState::kDownloading && !file->part.empty()) fd = open_read(file->part);
    if (!fd) {
      if (committed) return false;  // the blob is gone already (gc): nothing to send from
      continue;  // renamed between the report and the open: the commit report follows
    }
    std::uint64_t limit = sendable_bytes(*file, size);
    if (limit > sent) {
      if (!send_file_range(socket, FileBody{fd, sent, limit - sent})) return false;
      sent = limit;
    }
  }
  return true;
}

}  // namespace modelcache::server
