// Background prefetch: start downloading at process start, do other start-up
// work meanwhile, then block until the weights are there (Truss's
// block_until_download_complete()).
//
//   auto prefetch = modelcache::Prefetch::start({{"hf://org/model@main"}});
//   import_libraries();                                // overlaps the download
//   auto config = prefetch.wait_file("config.json");   // as soon as that file is in
//   auto snapshots = prefetch.wait();                  // everything, or the first error
//
// Each entry is pulled on its own background thread exactly as Cache::pull
// would (same store, locks and invariants); start() itself does no I/O.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelcache/cache.hpp"
#include "modelcache/error.hpp"

namespace modelcache {

struct PrefetchItem {
  std::string ref;      // as for Cache::pull: hf://org/name@rev, s3://..., https://..., a path
  PullOptions options;  // its on_progress / on_files, if set, run on the background thread;
                        // its stop token is ignored (use Prefetch::cancel)
};

enum class EntryState {
  kListing,      // resolving the revision and the file list
  kDownloading,  // `files` is known; fetching
  kDone,         // the snapshot is published
  kFailed,       // `error` says why (kCancelled after cancel())
};

struct PrefetchEntry {
  std::string ref;
  EntryState state = EntryState::kListing;
  std::vector<FileProgress> files;  // the selected files; empty while kListing
  std::optional<Error> error;
};

struct PrefetchStatus {
  std::vector<PrefetchEntry> entries;  // in the order given to start()
  std::uint64_t bytes_done = 0;        // over the files listed so far
  std::uint64_t bytes_total = 0;
  bool finished = false;  // every entry is kDone or kFailed: wait() returns at once
};

// Thread safety: every member function may be called from any thread, also
// concurrently (several threads may wait_file() while another calls progress()),
// except the move operations and the destructor. A moved-from Prefetch may only
// be destroyed or assigned to.
class Prefetch {
 public:
  // Starts every entry at once, each on its own thread, and returns immediately.
  // Errors (a bad reference, a missing repo) come back from wait()/wait_file().
  static Prefetch start(std::vector<PrefetchItem> items, const CacheOptions& cache = {});

  Prefetch(Prefetch&&) noexcept;
  Prefetch& operator=(Prefetch&&) noexcept;  // cancels what this one was running
  // Cancels what is still running and joins the threads (see cancel()).
  ~Prefetch();

  // Blocks until every entry is done; their snapshots in the order of the items,
  // or the error of the first entry that failed, naming it (and how many others did).
  Result<std::vector<Snapshot>> wait();
  // The same for one entry (an index into the items).
  Result<Snapshot> wait(std::size_t item);
  // Waits at most `timeout`; true when every entry is done (wait() then returns at once).
  bool wait_for(std::chrono::milliseconds timeout);

  // Blocks until the file `path` (relative to the snapshot, e.g. "config.json")
  // is committed, and returns a path to its verified content: the snapshot link
  // once its entry is published, before that the blob itself (read-only, named
  // by its sha256; the link will point at it). Returns as soon as that one file
  // is in, while the others still download. Errors: no entry selects `path`
  // (kEntryNotFound, once every entry is listed), several do (kInvalidArgument:
  // use the overload with the entry's index), its download failed (that error),
  // cancel() (kCancelled).
  Result<std::filesystem::path> wait_file(std::string_view path);
  Result<std::filesystem::path> wait_file(std::size_t item, std::string_view path);

  // A snapshot of where every entry and file stands; figures never go down.
  PrefetchStatus progress() const;

  // Stops every entry: downloads in flight are dropped at once, part files and
  // journals stay so that a later pull resumes them, no snapshot is published.
  // Returns once the threads have stopped (an entry still resolving its listing
  // stops when that request returns). Entries already done stay done; waiters
  // get kCancelled for the rest. Idempotent. Not from inside an item's callback
  // (it runs on the thread cancel() joins).
  void cancel();

 private:
  struct Impl;
  explicit Prefetch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelcache
