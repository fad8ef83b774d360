// The download engine: one libcurl multi handle drives every request of a pull.
//
// - Many files at once; files of at least 2 * min_segment_bytes are cut into
//   segments, one per connection. A segment is fetched as a series of bounded
//   range requests ("chunks", sized from the connection's rate: ~0.75 s, 256 KiB
//   to 32 MiB) on one easy handle and kept-alive connection.
// - When a connection finishes its segment it takes over the upper half of the
//   largest remaining range (aria2's policy), so a slow connection never holds up
//   the end; the cut never falls inside the victim's chunk in flight, so no
//   request is ever aborted for a steal and a pull without faults fetches every
//   byte exactly once. With nothing worth stealing, it starts the next file, so
//   files overlap and connections do not idle at a file's tail.
// - After the first good ranged response, later chunks of the file go straight to
//   the URL the request was redirected to (Hub resolve URL -> CDN), without the
//   Authorization/Cookie headers when that is another origin; if it later answers
//   401/403/404/410 (an expired signed URL) the engine asks the original URL again.
// - Connection caps: max_connections in all, max_connections_per_host per host.
// - Every response is checked: a ranged request must get 206 with a Content-Range
//   that matches the request and the expected total size; a 200 to a ranged request
//   means the origin ignores Range, and the file is fetched again as one stream.
//   A body that ends early or runs long is an error for that segment (retried).
// - Retries (net/retry.hpp) on connection errors, timeouts, 408/429/5xx, stalls.
// - Bytes go to `part_path` with pwrite (512 KiB at a time); completed ranges are
//   appended to `journal_path` (every 4 MiB and at each chunk's end) so that a
//   later run after kill -9 fetches only what is missing.
// - Hashing runs alongside the download: a hasher follows the contiguous written
//   prefix of each file (reading back from the page cache the pieces that arrived
//   out of order), so no second full read happens after the last byte.
// - On success the part file is complete, fdatasync'ed (on a thread of its own,
//   while other files go on), its sha256 is known and the origin's digest (if
//   any) matched; the journal is removed. The caller commits the part file into
//   the store. On failure nothing is committed: the part file and journal stay for
//   resume unless the data was proven wrong (digest/size mismatch), in which case
//   both are deleted.
// - Each file is reported through FetchHooks::on_file_done the moment it is
//   settled, so the caller can commit it while the other files still download.
// - FetchHooks::stop cancels: the loop wakes at once (curl_multi_wakeup), drops
//   every request in flight, keeps part files and journals for a later resume and
//   settles what is left as kCancelled.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/digest.hpp"
#include "modelcache/error.hpp"

namespace modelcache::transfer {

inline constexpr std::uint64_t kUnknownSize = ~0ull;

struct FetchRequest {
  std::string label;                 // shown in errors and progress: the repo path
  std::string url;                   // http(s):// or file://
  std::vector<std::string> headers;  // "Name: value"
  // When set, called on the engine's thread before every request for fresh
  // headers (used instead of `headers`): signatures that date themselves (S3
  // SigV4, Azure SharedKey) stay valid through a download of any length.
  std::function<std::vector<std::string>()> sign;
  std::uint64_t size = kUnknownSize;
  std::optional<core::Digest> expected;
  std::filesystem::path part_path;     // where bytes are written
  std::filesystem::path journal_path;  // resume journal beside it
};

struct FetchResult {
  std::string sha256;  // hex of the complete file
  std::uint64_t size = 0;
  std::uint64_t bytes_downloaded = 0;  // from the network in this call (resume excluded)
  std::string etag;                    // from the response, if any
};

// One request's figures in EngineProgress::files.
struct FileBytes {
  std::uint64_t done = 0;  // bytes in its part file, resumed ones included; never decreases
  std::uint64_t total = kUnknownSize;  // its size, once known
  // Contiguous bytes from offset 0 that are in its part file and were read back
  // by the hasher (never decreases): a reader may send them before the file is
  // verified, as long as it withholds the end until the file is settled.
  std::uint64_t ready = 0;
};

struct EngineProgress {
  std::uint64_t bytes_done = 0;   // new bytes received in this call, all files
  std::uint64_t bytes_total = 0;  // bytes still missing at the start of this call
  int files_done = 0;
  int files_total = 0;
  std::vector<FileBytes> files;  // per request, in request order
};

// Optional hooks of one fetch() call; all run on the calling thread.
struct FetchHooks {
  // At most ~10 times a second, and once at the end.
  std::function<void(const EngineProgress&)> on_progress;
  // Exactly once per request, as soon as it is settled, with the result fetch()
  // will return for it. On success the part file is complete, verified and
  // fdatasync'ed and its journal is gone: it may be committed right away, while
  // the other requests go on. Runs inside the engine's loop: keep it short.
  std::function<void(std::size_t index, const Result<FetchResult>& result)> on_file_done;
  // Once stop is requested, requests in flight are dropped (within one loop turn:
  // the request wakes the loop), part files and journals stay so that a later
  // fetch resumes, and every request not yet settled gets kCancelled.
  std::stop_token stop;
};

class Engine {
 public:
  explicit Engine(const core::TransferSettings& settings);
  ~Engine();

  // Fetches all requests concurrently; results are in the same order. One failed
  // file does not stop the others. `on_progress` is called at most ~10 times a
  // second from the calling thread. Concurrent calls on one Engine share nothing
  // (each runs its own loop on its caller's thread).
  std::vector<Result<FetchResult>> fetch(const std::vector<FetchRequest>& requests,
                                         const std::function<void(const EngineProgress&)>& on_progress = {});
  std::vector<Result<FetchResult>> fetch(const std::vector<FetchRequest>& requests,
                                         const FetchHooks& hooks);

 private:
  core::TransferSettings settings_;
};

}  // namespace modelcache::transfer
